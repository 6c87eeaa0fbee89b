"""The one-paragraph story of a record, written from its public data in the page's language.

"Apple Daily (蘋果日報), Hong Kong's largest pro-democracy newspaper, ceased operations on
24 Jun 2021 after an asset freeze. <stated reason> — 2 sources, including its own statement."
The record page opens with it, and the same text is the page's meta and Open Graph
description and the record's feed summary, so a shared link says what happened.

Everything here reads what the caller has already loaded (the public events in time order,
the public parent), so the lede costs no query of its own when the events' citations, their
sources and reasons are prefetched.
"""

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext, pgettext
from django.utils.translation import gettext as _

from .dates import DatePrecision, format_partial_date
from .models import (
    CLOSURE_EVENT_TYPES,
    CONFIDENCE_THAT_CONFIRMS,
    UNKNOWN_COUNTRY,
    DestinationCountries,
    EventType,
    SourceType,
    status_step,
)

# A description longer than this stays in its own paragraph: the lede is also a meta
# description, which search engines cut at about 160 characters.
DESCRIPTION_IN_LEDE_MAX = 140


def chinese_page() -> bool:
    return (get_language() or "en").startswith("zh")


def sentence_gap() -> str:
    """The space between two sentences: one in English, none in Chinese."""
    return "" if chinese_page() else " "


def kind_phrase(org_type: str) -> str:
    """The type as a noun phrase with its article: 'a media outlet', 'an NGO'."""
    phrases = {
        "ngo": _("an NGO"),
        "union": _("a trade union"),
        "professional_body": _("a professional body"),
        "media": _("a media outlet"),
        "political_party": _("a political party"),
        "political_group": _("a political group"),
        "student_union": _("a student union"),
        "religious": _("a religious body"),
        "international_ngo": _("an international NGO office"),
        "fund": _("a relief fund"),
    }
    return phrases.get(org_type, _("an organisation"))


def event_phrase(event_type: str) -> str:
    """What the organisation did or underwent, as a verb phrase after its name."""
    phrases = {
        EventType.DISBANDED: _("disbanded"),
        EventType.CEASED_OPERATIONS: _("ceased operations"),
        EventType.SUSPENDED: _("suspended its work"),
        EventType.OFFICE_CLOSED: _("closed its office"),
        EventType.RELOCATED: _("relocated abroad"),
        EventType.LIQUIDATED: _("went into liquidation"),
        EventType.DEREGISTERED: _("was struck off the register"),
        EventType.POLICE_INVESTIGATION: _("came under police investigation"),
        EventType.RAID: _("was raided"),
        EventType.ARREST_OF_LEADERS: _("saw its leaders arrested"),
        EventType.ASSET_FREEZE: _("had its assets frozen"),
        EventType.PROSECUTION: _("was prosecuted"),
        EventType.OFFICIAL_ACCUSATION: _("was accused by officials"),
    }
    if event_type in phrases:
        return phrases[event_type]
    # A type added later reads through its label until it has a phrase of its own.
    return str(EventType(event_type).label) if event_type in EventType.values else event_type


def pressure_phrase(event_type: str) -> str:
    """A pressure event as the object of 'after …'."""
    phrases = {
        EventType.POLICE_INVESTIGATION: _("a police investigation"),
        EventType.RAID: _("a police raid"),
        EventType.ARREST_OF_LEADERS: _("the arrest of its leaders"),
        EventType.ASSET_FREEZE: _("an asset freeze"),
        EventType.PROSECUTION: _("a prosecution"),
        EventType.OFFICIAL_ACCUSATION: _("official accusations"),
    }
    return phrases.get(event_type, "")


def join_words(words: list[str]) -> str:
    """'a, b and c' in English, 'a、b及c' in Chinese."""
    if len(words) <= 1:
        return "".join(words)
    separator = pgettext("list separator", ", ")
    return _("%(items)s and %(last)s") % {"items": separator.join(words[:-1]), "last": words[-1]}


def when_phrase(event) -> str:
    """'on 24 Jun 2021', 'in Dec 2021', 'in 2021': the date at the precision known."""
    value, precision = event.key_date()
    if value is None:
        return ""
    date = format_partial_date(value, precision)
    if precision == DatePrecision.DAY:
        return _("on %(date)s") % {"date": date}
    return _("in %(date)s") % {"date": date}


def place(event) -> str:
    """'Taipei, Taiwan', 'Taiwan', or '' when no source names the destination."""
    country = event.destination_country
    code = getattr(country, "code", country) or ""
    if not code or code == UNKNOWN_COUNTRY:
        return ""
    name = DestinationCountries().name(code)
    if event.destination_city:
        return pgettext("city, country", "%(city)s, %(country)s") % {
            "city": event.destination_city,
            "country": name,
        }
    return str(name)


def described_as(organisation) -> str:
    """The record's description as a phrase after its name, or '' when it is not one.

    "A pro-democracy political party." reads "a pro-democracy political party"; a description
    of several sentences, a long one, or one only in the other language stays out of the
    lede (the page shows it on its own).
    """
    text = organisation.description_zh if chinese_page() else organisation.description_en
    text = text.strip().rstrip(".。")
    if (
        not text
        or len(text) > DESCRIPTION_IN_LEDE_MAX
        or any(stop in text for stop in (". ", "。", "! ", "? "))
    ):
        return ""
    first, _space, rest = text.partition(" ")
    if first in ("A", "An", "The"):
        return f"{first.lower()} {rest}"
    return text


def who_they_were(organisation, parent) -> str:
    """Its description; else its kind, and the organisation it was part of when public."""
    description = described_as(organisation)
    if description:
        return description
    kind = kind_phrase(organisation.org_type)
    if parent is None:
        return kind
    return _("%(kind)s within %(parent)s") % {"kind": kind, "parent": parent.display_name()}


def what_happened(event, unconfirmed: bool) -> str:
    """'ceased operations on 24 Jun 2021', 'relocated to Taipei, Taiwan in Dec 2021'."""
    destination = place(event) if event.event_type == EventType.RELOCATED else ""
    if destination:
        what = _("relocated to %(place)s") % {"place": destination}
    else:
        what = event_phrase(event.event_type)
    if unconfirmed:
        what = _("reportedly %(what)s") % {"what": what}
    when = when_phrase(event)
    if not when:
        return what
    # Word order differs: English "ceased operations on 24 Jun 2021", Chinese "於…停止運作".
    return _("%(what)s %(when)s") % {"what": what, "when": when}


def stated_reason(event) -> str:
    """The reason given, in the page's language only; else its categories, translated."""
    text = (event.stated_reason_zh if chinese_page() else event.stated_reason_en).strip()
    if text:
        return text if text[-1] in ".!?。！？" else text + pgettext("sentence end", ".")
    categories = [str(reason.label) for reason in event.reasons.all()]
    if not categories:
        return ""
    return _("Reasons given: %(reasons)s.") % {"reasons": join_words(categories)}


def on_whose_word(events) -> str:
    """'2 sources', with the first-hand ones named: 'including its own statement'."""
    sources = {
        citation.source_id: citation.source.source_type
        for event in events
        for citation in event.citations.all()
    }
    count = ngettext("%(count)d source", "%(count)d sources", len(sources)) % {
        "count": len(sources)
    }
    first_hand = {
        SourceType.OWN_STATEMENT: _("its own statement"),
        SourceType.GOVERNMENT_STATEMENT: _("a government statement"),
        SourceType.COURT_RECORD: _("a court record"),
    }
    named = [phrase for kind, phrase in first_hand.items() if kind in sources.values()]
    if not named:
        return count
    return _("%(count)s, including %(named)s") % {"count": count, "named": join_words(named)}


def record_lede(organisation, events, *, parent=None, as_html=False) -> str:
    """Who, what happened and when, where they went, why, and on whose word.

    `events` are the record's public events in time order; `parent` the organisation it was
    part of, only when that one is public. The step told is the one that sets the public
    status, so the lede and the status never disagree; an unconfirmed status says
    "reportedly".

    Plain text for meta descriptions and feeds; `as_html` gives the page's paragraph, every
    part escaped and the name in the other language marked with its `lang`, so a screen
    reader reads "蘋果日報" in Chinese on the English page.
    """
    escaped = conditional_escape if as_html else str
    events = list(events)
    name = organisation.display_name()
    other = organisation.name_en if chinese_page() else organisation.name_zh
    if as_html and other:
        other = format_html(
            '<span lang="{}">{}</span>', "en" if chinese_page() else "zh-Hant", other
        )
    who = (
        _("%(name)s (%(other)s)") % {"name": escaped(name), "other": other}
        if other and other != name
        else escaped(name)
    )
    lede = _lede_text(organisation, events, parent=parent, who=who, escaped=escaped)
    return mark_safe(lede) if as_html else lede


def _lede_text(organisation, events, *, parent, who, escaped) -> str:
    parts = {"who": who, "kind": escaped(who_they_were(organisation, parent))}
    event, unconfirmed = status_step(events)
    if event is None and events:
        # Pressure alone (a raid, an arrest) sets no status; the lede tells the latest of it.
        event = events[-1]
        unconfirmed = event.confidence not in CONFIDENCE_THAT_CONFIRMS
    if event is None:
        return _("%(who)s, %(kind)s.") % parts
    parts["what"] = escaped(what_happened(event, unconfirmed))
    earlier_pressure = [
        pressure_phrase(earlier.event_type)
        for earlier in events[: events.index(event)]
        if pressure_phrase(earlier.event_type)
    ]
    if earlier_pressure and event.event_type in CLOSURE_EVENT_TYPES:
        parts["after"] = escaped(join_words(list(dict.fromkeys(earlier_pressure))))
        sentence = _("%(who)s, %(kind)s, %(what)s after %(after)s.") % parts
    else:
        sentence = _("%(who)s, %(kind)s, %(what)s.") % parts
    relocation = next(
        (
            other_event
            for other_event in events
            if other_event is not event
            and other_event.event_type == EventType.RELOCATED
            and place(other_event)
        ),
        None,
    )
    if relocation is not None:
        also = _("It also relocated to %(place)s.") % {"place": escaped(place(relocation))}
        sentence = sentence_gap().join((sentence, also))
    reason = escaped(stated_reason(event))
    text = sentence_gap().join(part for part in (sentence, reason) if part)
    return _("%(text)s — %(sources)s") % {"text": text, "sources": escaped(on_whose_word(events))}
