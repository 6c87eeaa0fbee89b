"""Template helpers for the bilingual public pages."""

from django import template
from django.conf import settings
from django.urls import translate_url
from django.utils.translation import get_language, get_language_info

from closures.dates import format_partial_date

register = template.Library()


@register.simple_tag(takes_context=True)
def language_links(context):
    """Link to the same page, with the same query string, in each language."""
    request = context["request"]
    current = get_language()
    return [
        {
            "code": code,
            "name": get_language_info(code)["name_local"],
            "url": translate_url(request.get_full_path(), code),
            "current": code == current,
        }
        for code, _name in settings.LANGUAGES
    ]


@register.simple_tag
def localised(obj, field: str) -> str:
    """Return `<field>_zh` or `<field>_en` in the active language, falling back to the other."""
    chinese_first = (get_language() or "en").startswith("zh")
    suffixes = ("zh", "en") if chinese_first else ("en", "zh")
    return next((value for s in suffixes if (value := getattr(obj, f"{field}_{s}", ""))), "")


@register.filter
def partial_date(value, precision="day") -> str:
    return format_partial_date(value, precision)
