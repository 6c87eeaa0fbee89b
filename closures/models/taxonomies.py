"""The registry's vocabularies: the choices its fields allow and the constants built on them.

Kept apart from the models so that exports, releases, filters and the API can name a choice
without pulling in a model.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_countries import Countries


class OrganisationType(models.TextChoices):
    NGO = "ngo", _("NGO")
    UNION = "union", _("trade union")
    PROFESSIONAL_BODY = "professional_body", _("professional body")
    MEDIA = "media", _("media outlet")
    POLITICAL_PARTY = "political_party", _("political party")
    POLITICAL_GROUP = "political_group", _("political group")
    STUDENT_UNION = "student_union", _("student union")
    RELIGIOUS = "religious", _("religious body")
    INTERNATIONAL_NGO = "international_ngo", _("international NGO office")
    FUND = "fund", _("relief fund")
    OTHER = "other", _("other")


class Status(models.TextChoices):
    ACTIVE = "active", _("active")
    DISBANDED = "disbanded", _("disbanded")
    CEASED_OPERATIONS = "ceased_operations", _("ceased operations")
    SUSPENDED = "suspended", _("suspended")
    RELOCATED = "relocated", _("relocated abroad")
    OFFICE_CLOSED = "office_closed", _("office closed")
    LIQUIDATED = "liquidated", _("liquidated")
    DEREGISTERED = "deregistered", _("deregistered")
    # Set only by steps that are not closures, when no closure step is recorded.
    DISSOLUTION_STARTED = "dissolution_started", _("dissolution begun")
    REMOVAL_NOTICE = "removal_notice", _("notice of removal")
    UNKNOWN = "unknown", _("unknown")


class EventType(models.TextChoices):
    # Closure steps: what happened to the organisation itself.
    DISBANDED = "disbanded", _("disbanded")
    CEASED_OPERATIONS = "ceased_operations", _("ceased operations")
    SUSPENDED = "suspended", _("suspended")
    OFFICE_CLOSED = "office_closed", _("office closed")
    RELOCATED = "relocated", _("relocated abroad")
    LIQUIDATED = "liquidated", _("liquidated")
    DEREGISTERED = "deregistered", _("deregistered / struck off")
    # Steps that are not closures: a decision to begin dissolving, a registry's notice that it
    # intends to strike the body off. Neither closes the organisation.
    DISSOLUTION_STARTED = "dissolution_started", _("dissolution begun")
    REMOVAL_NOTICE = "removal_notice", _("notice of intended removal")
    # Pressure events: what was done to it or its people.
    POLICE_INVESTIGATION = "police_investigation", _("police investigation")
    RAID = "raid", _("raid")
    ARREST_OF_LEADERS = "arrest_of_leaders", _("arrest of leaders")
    ASSET_FREEZE = "asset_freeze", _("asset freeze")
    PROSECUTION = "prosecution", _("prosecution")
    OFFICIAL_ACCUSATION = "official_accusation", _("official accusation")


# Each closure step sets the organisation's status. When two steps fall on the same date the
# more final one wins, so an organisation struck off the day it disbanded reads "deregistered".
CLOSURE_STATUS_BY_FINALITY = {
    EventType.SUSPENDED: Status.SUSPENDED,
    EventType.RELOCATED: Status.RELOCATED,
    EventType.OFFICE_CLOSED: Status.OFFICE_CLOSED,
    EventType.CEASED_OPERATIONS: Status.CEASED_OPERATIONS,
    EventType.DISBANDED: Status.DISBANDED,
    EventType.LIQUIDATED: Status.LIQUIDATED,
    EventType.DEREGISTERED: Status.DEREGISTERED,
}
CLOSURE_EVENT_TYPES = tuple(CLOSURE_STATUS_BY_FINALITY)
# A step towards closure that is not one sets the status only while no closure step is
# recorded: a struck-off body stays "deregistered" whatever notice preceded it.
NON_CLOSURE_STATUS_BY_FINALITY = {
    EventType.REMOVAL_NOTICE: Status.REMOVAL_NOTICE,
    EventType.DISSOLUTION_STARTED: Status.DISSOLUTION_STARTED,
}


class ReasonCategory(models.TextChoices):
    NSL_PRESSURE = "nsl_pressure", _("National Security Law pressure")
    ARRESTS_OF_LEADERS = "arrests_of_leaders", _("arrests of leaders")
    POLICE_INVESTIGATION = "police_investigation", _("police investigation")
    ASSET_FREEZE = "asset_freeze", _("asset freeze")
    GOVERNMENT_CRITICISM = "government_criticism", _("criticism by officials or state media")
    FINANCIAL = "financial", _("financial")
    SAFETY_OF_STAFF = "safety_of_staff", _("safety of staff or members")
    LEGAL_RISK = "legal_risk", _("legal risk")
    OTHER = "other", _("other")


class Confidence(models.TextChoices):
    HIGH = "high", _("high")
    MEDIUM = "medium", _("medium")
    LOW = "low", _("low")


# Below these a step sets the status only when no better-sourced step exists, and the status
# is then shown as unconfirmed.
CONFIDENCE_THAT_CONFIRMS = (Confidence.HIGH, Confidence.MEDIUM)


class SourceType(models.TextChoices):
    OWN_STATEMENT = "own_statement", _("the organisation's own statement")
    NEWS_REPORT = "news_report", _("news report")
    NGO_REPORT = "ngo_report", _("NGO report")
    GOVERNMENT_STATEMENT = "government_statement", _("government statement")
    COURT_RECORD = "court_record", _("court record")
    REFERENCE_WORK = "reference_work", _("encyclopaedia or reference work")
    OTHER = "other", _("other")


class Claim(models.TextChoices):
    EVENT = "event", _("that the event happened")
    DATE = "date", _("the date")
    REASON = "reason", _("the stated reason")
    DESTINATION = "destination", _("the destination")


class ReviewState(models.TextChoices):
    DRAFT = "draft", _("draft")
    IN_REVIEW = "in_review", _("in review")
    PUBLISHED = "published", _("published")
    WITHDRAWN = "withdrawn", _("withdrawn")


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    CHINESE_TRADITIONAL = "zh-hant", _("Chinese (Traditional)")
    CHINESE_SIMPLIFIED = "zh-hans", _("Chinese (Simplified)")
    OTHER = "other", _("other")


# ISO 3166-1 reserves ZZ for "unknown or unspecified"; a relocation whose destination no source
# names records it rather than leaving the field blank.
UNKNOWN_COUNTRY = "ZZ"


class DestinationCountries(Countries):
    override = {UNKNOWN_COUNTRY: _("unknown (no source names it)")}


class AliasKind(models.TextChoices):
    ALIAS = "alias", _("alias")
    FORMER_NAME = "former_name", _("former name")
    OTHER_FORM = "other_form", _("name as given by a source")


def choices_constraint(field: str, choices: type[models.TextChoices], name: str, blank=False):
    allowed = list(choices.values) + ([""] if blank else [])
    return models.CheckConstraint(condition=Q(**{f"{field}__in": allowed}), name=name)
