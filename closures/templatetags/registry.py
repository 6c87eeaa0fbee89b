"""Template helpers for the bilingual public pages."""

from django import template
from django.conf import settings
from django.urls import translate_url
from django.utils.translation import get_language, get_language_info

from closures import lede
from closures.dates import format_partial_date
from closures.models import EventType

register = template.Library()


@register.simple_tag(takes_context=True)
def language_links(context):
    """Link to the same page, with the same query string, in each language.

    `absolute` is the address search engines and link previews need (hreflang, og:url);
    `hreflang` is the BCP 47 tag, `zh-Hant` rather than Django's `zh-hant`.
    """
    request = context["request"]
    current = get_language()
    links = []
    for code, _name in settings.LANGUAGES:
        url = translate_url(request.get_full_path(), code)
        links.append(
            {
                "code": code,
                "hreflang": "zh-Hant" if code == "zh-hant" else code,
                "name": get_language_info(code)["name_local"],
                "url": url,
                "absolute": request.build_absolute_uri(url),
                "current": code == current,
            }
        )
    return links


@register.simple_tag
def localised(obj, field: str) -> str:
    """Return `<field>_zh` or `<field>_en` in the active language, falling back to the other."""
    chinese_first = (get_language() or "en").startswith("zh")
    suffixes = ("zh", "en") if chinese_first else ("en", "zh")
    return next((value for s in suffixes if (value := getattr(obj, f"{field}_{s}", ""))), "")


@register.filter
def partial_date(value, precision="day") -> str:
    return format_partial_date(value, precision)


@register.filter
def lang_tag(language: str) -> str:
    """The BCP 47 tag of a stored language code, or '' for 'other' (no `lang` is better)."""
    return {"en": "en", "zh-hant": "zh-Hant", "zh-hans": "zh-Hans"}.get(language, "")


@register.simple_tag
def status_event(organisation):
    """The public event that gives the record its status (see `closures.lede`)."""
    return lede.status_event(organisation, getattr(organisation, "public_events", []))


@register.simple_tag
def relocated_to(organisation) -> str:
    """Where its latest relocation abroad went, when a source names the place."""
    events = getattr(organisation, "public_events", [])
    places = [lede.place(event) for event in events if event.event_type == EventType.RELOCATED]
    return next((place for place in reversed(places) if place), "")
