import datetime as dt
import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from closures.dates import DatePrecision, period_end, truncate_to_precision
from closures.models import (
    CLOSURE_STATUS_BY_FINALITY,
    Citation,
    Claim,
    Confidence,
    Event,
    EventType,
    Organisation,
    OrganisationType,
    PublicEventFacet,
    Reason,
    ReasonCategory,
    ReviewState,
    Source,
    SourceType,
    source_uid_for,
    status_from_events,
)

SLUG_PREFIX = "synthetic-"
SOURCE_URL_PREFIX = "https://synthetic.example.org/"
DISTRICTS_EN = [
    "Sha Tin",
    "Tsuen Wan",
    "Kwun Tong",
    "Yuen Long",
    "Tai Po",
    "Wan Chai",
    "Sai Kung",
    "Tuen Mun",
    "Kowloon City",
    "Eastern",
    "Southern",
    "Islands",
    "North",
    "Sham Shui Po",
]
DISTRICTS_ZH = [
    "沙田",
    "荃灣",
    "觀塘",
    "元朗",
    "大埔",
    "灣仔",
    "西貢",
    "屯門",
    "九龍城",
    "東區",
    "南區",
    "離島",
    "北區",
    "深水埗",
]
KINDS = [
    (OrganisationType.UNION, "Workers' Union", "職工會"),
    (OrganisationType.STUDENT_UNION, "Students' Union", "學生會"),
    (OrganisationType.POLITICAL_GROUP, "Community Network", "社區網絡"),
    (OrganisationType.MEDIA, "News", "新聞"),
    (OrganisationType.NGO, "Concern Group", "關注組"),
    (OrganisationType.PROFESSIONAL_BODY, "Professional Association", "專業協會"),
    (OrganisationType.RELIGIOUS, "Christian Fellowship", "基督徒團契"),
    (OrganisationType.FUND, "Relief Fund", "援助基金"),
]
TRADES_EN = [
    "Social Workers",
    "Nurses",
    "Teachers",
    "Bus Drivers",
    "Journalists",
    "Speech Therapists",
    "Clerical Staff",
    "Catering Workers",
    "Designers",
    "Accountants",
    "Librarians",
    "Tutors",
]
TRADES_ZH = [
    "社工",
    "護士",
    "教師",
    "巴士司機",
    "記者",
    "言語治療師",
    "文職",
    "飲食業",
    "設計師",
    "會計師",
    "圖書館員",
    "導師",
]
PUBLISHERS = [
    "Hong Kong Free Press",
    "RTHK",
    "Ming Pao",
    "South China Morning Post",
    "Stand News",
    "Reuters",
    "AFP",
    "InMedia HK",
    "The Standard",
    "HK01",
]
CLOSURE_TYPES = list(CLOSURE_STATUS_BY_FINALITY)
PRESSURE_TYPES = [t for t in EventType.values if t not in CLOSURE_STATUS_BY_FINALITY]
DESTINATIONS = [
    ("GB", "London"),
    ("TW", "Taipei"),
    ("CA", "Toronto"),
    ("AU", "Melbourne"),
    ("US", "Washington"),
    ("DE", "Berlin"),
]
BATCH = 5000


class Command(BaseCommand):
    help = (
        "Create published synthetic organisations (English and Chinese names, 1-3 events, "
        "2 sources per event) in bulk, for benchmarks. Slugs start with 'synthetic-'."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organisations", type=int, required=True)
        parser.add_argument("--seed", type=int, default=2020)
        parser.add_argument(
            "--replace", action="store_true", help="Delete earlier synthetic records first."
        )

    def handle(self, *args, organisations, seed, replace, **options):
        if organisations < 1:
            raise CommandError("--organisations must be at least 1.")
        started = time.perf_counter()
        with transaction.atomic():
            if replace:
                self.delete_synthetic()
            elif Organisation.objects.filter(slug__startswith=SLUG_PREFIX).exists():
                raise CommandError("Synthetic records exist already; use --replace.")
            totals = self.create(organisations, random.Random(seed))
            # The listing's facet counts read them; bulk creation bypassed their upkeep.
            PublicEventFacet.rebuild_all()
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"Created {totals['organisations']} organisations, {totals['events']} events, "
            f"{totals['sources']} sources, {totals['citations']} citations in {elapsed:.1f} s."
        )

    def delete_synthetic(self):
        """Delete synthetic rows without signals: they have no history, and a history record
        per deleted row would make --replace take minutes."""
        synthetic = Organisation.objects.filter(slug__startswith=SLUG_PREFIX)
        events = Event.objects.filter(organisation__in=synthetic)
        for queryset in (
            Citation.objects.filter(event__in=events),
            Event.reasons.through.objects.filter(event__in=events),
            PublicEventFacet.objects.filter(organisation__in=synthetic),
            Source.objects.filter(url__startswith=SOURCE_URL_PREFIX),
            events,
            synthetic,
        ):
            queryset._raw_delete(queryset.db)

    def create(self, count: int, rng: random.Random) -> dict[str, int]:
        totals = dict.fromkeys(["organisations", "events", "sources", "citations"], 0)
        reasons = {code: Reason(code=code) for code in ReasonCategory.values}
        event_labels = {value: str(label) for value, label in EventType.choices}
        now = timezone.now()
        for start in range(0, count, BATCH):
            numbers = range(start, min(start + BATCH, count))
            organisations, events, sources, citations, event_reasons = [], [], [], [], []
            for number in numbers:
                organisation, organisation_events = self.organisation(number, rng, now)
                organisations.append(organisation)
                for event in organisation_events:
                    events.append(event)
                    for code in rng.sample(ReasonCategory.values, rng.randint(1, 3)):
                        event_reasons.append((event, reasons[code]))
                    for index in range(2):
                        url = f"{SOURCE_URL_PREFIX}{event.uid}/{index}"
                        source = Source(
                            uid=source_uid_for(url),
                            url=url,
                            title=f"{organisation.name_en}: {event_labels[event.event_type]}",
                            publisher=rng.choice(PUBLISHERS),
                            published_on=event.occurred_from,
                            source_type=SourceType.NEWS_REPORT,
                        )
                        sources.append(source)
                        citations.append((event, source))
            Organisation.objects.bulk_create(organisations)
            for event in events:
                event.organisation_id = event.organisation.pk
            Event.objects.bulk_create(events)
            Source.objects.bulk_create(sources)
            Citation.objects.bulk_create(
                Citation(event=event, source=source, claims=[Claim.EVENT, Claim.DATE])
                for event, source in citations
            )
            Event.reasons.through.objects.bulk_create(
                Event.reasons.through(event_id=event.pk, reason_id=reason.pk)
                for event, reason in event_reasons
            )
            totals["organisations"] += len(organisations)
            totals["events"] += len(events)
            totals["sources"] += len(sources)
            totals["citations"] += len(citations)
        return totals

    def organisation(self, number: int, rng: random.Random, now):
        kind, suffix_en, suffix_zh = rng.choice(KINDS)
        district = rng.randrange(len(DISTRICTS_EN))
        trade = rng.randrange(len(TRADES_EN))
        organisation = Organisation(
            slug=f"{SLUG_PREFIX}{number:06d}",
            name_en=f"{DISTRICTS_EN[district]} {TRADES_EN[trade]} {suffix_en} {number}",
            name_zh=f"{DISTRICTS_ZH[district]}{TRADES_ZH[trade]}{suffix_zh}{number}",
            acronym=f"S{number}",
            org_type=kind,
            review_state=ReviewState.PUBLISHED,
            is_public=True,  # published with cited events: what refresh_organisation stores
            first_published_at=now,
            public_changed_at=now,
        )
        events = []
        for index in range(rng.choice([1, 1, 2, 2, 3])):
            event_type = rng.choice(CLOSURE_TYPES if index == 0 else CLOSURE_TYPES + PRESSURE_TYPES)
            precision = rng.choice(
                [DatePrecision.DAY] * 6 + [DatePrecision.MONTH] * 3 + [DatePrecision.YEAR]
            )
            day = dt.date(2020, 7, 1) + dt.timedelta(days=rng.randrange(6 * 365))
            effective = truncate_to_precision(day, precision)
            country, city = ("", "")
            if event_type == EventType.RELOCATED:
                country, city = rng.choice(DESTINATIONS)
            events.append(
                Event(
                    uid=f"{organisation.slug}-{index}",
                    organisation=organisation,
                    event_type=event_type,
                    effective_on=effective,
                    effective_precision=precision,
                    occurred_from=effective,
                    occurred_to=period_end(effective, precision),
                    destination_country=country,
                    destination_city=city,
                    stated_reason_en=f"Cited pressure on {TRADES_EN[trade].lower()} under the law.",
                    stated_reason_zh=f"指{TRADES_ZH[trade]}受壓。",
                    confidence=rng.choice(Confidence.values),
                    review_state=ReviewState.PUBLISHED,
                    is_public=True,
                )
            )
        status, unconfirmed = status_from_events(events)
        organisation.current_status = organisation.public_status = status
        organisation.current_status_unconfirmed = unconfirmed
        organisation.public_status_unconfirmed = unconfirmed
        organisation.public_latest_event_on = max(event.occurred_from for event in events)
        organisation.search_text = organisation.build_search_text(aliases=[], public_events=events)
        return organisation, events
