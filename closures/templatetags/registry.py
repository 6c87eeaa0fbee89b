"""Template helpers for the bilingual public pages."""

import re

from django import template
from django.conf import settings
from django.urls import translate_url
from django.utils.html import format_html, linebreaks
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext as _

from closures import lede
from closures.dates import format_partial_date
from closures.duplicates import CJK
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


# The marker is written in the language of the text it marks, inside that text's `lang`.
ONLY_IN = {"en": "(English only)", "zh-Hant": "（只有中文）"}


def _language_pair(obj, field: str) -> tuple[str, str]:
    """The English and Chinese field names: `<field>_en` or plain `<field>`, and `<field>_zh`."""
    english = f"{field}_en" if hasattr(obj, f"{field}_en") else field
    return english, f"{field}_zh"


@register.simple_tag
def localised_html(obj, field: str, multiline: bool = False) -> str:
    """The text in the page's language; else the other, with its `lang` and a visible marker.

    A reader of the Chinese page is never shown English as if it were the translation.
    """
    english, chinese = _language_pair(obj, field)
    texts = {"en": getattr(obj, english, ""), "zh-Hant": getattr(obj, chinese, "")}
    page = "zh-Hant" if (get_language() or "en").startswith("zh") else "en"
    other = "en" if page == "zh-Hant" else "zh-Hant"

    def render(text):
        # Django's linebreaks() helper (unlike the filter) neither escapes nor marks safe.
        if multiline:
            return mark_safe(linebreaks(text, autoescape=True))
        return format_html("{}", text)

    if texts[page]:
        return render(texts[page])
    if not texts[other]:
        return ""
    return format_html(
        '<span lang="{}">{}</span> <span class="translation-missing" lang="{}" title="{}">{}'
        "</span>",
        other,
        render(texts[other]),
        other,
        _("Not yet translated"),
        ONLY_IN[other],
    )


@register.filter
def partial_date(value, precision="day") -> str:
    return format_partial_date(value, precision)


@register.filter
def lang_tag(language: str) -> str:
    """The BCP 47 tag of a stored language code, or '' for 'other' (no `lang` is better)."""
    return {"en": "en", "zh-hant": "zh-Hant", "zh-hans": "zh-Hans"}.get(language, "")


@register.simple_tag
def relocated_to(organisation) -> str:
    """Where its latest relocation abroad went, when a source names the place."""
    events = getattr(organisation, "public_events", [])
    places = [lede.place(event) for event in events if event.event_type == EventType.RELOCATED]
    return next((place for place in reversed(places) if place), "")


LATIN = re.compile(r"[A-Za-z]")


@register.filter
def lang_of(text: str, language: str = "") -> str:
    """The `lang` a quoted title or passage needs on this page, or '' in the page's language.

    A source's own `language` when a curator gave it; else Han characters say Chinese (plain
    `zh`: a title may be in simplified characters) and Latin letters alone say English. So a
    screen reader reads a Chinese headline on an English page with a Chinese voice.
    """
    tag = lang_tag(language) or ("zh" if CJK.search(text) else "en" if LATIN.search(text) else "")
    page = "zh" if (get_language() or "en").startswith("zh") else "en"
    return "" if tag.split("-")[0] == page else tag


@register.simple_tag
def gap() -> str:
    """The space after a label such as "Reason:": none in Chinese, whose full-width colon
    (原因：) carries its own."""
    return "" if lede.chinese_page() else " "
