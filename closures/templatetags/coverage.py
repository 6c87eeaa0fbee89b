from django import template

from .. import coverage

register = template.Library()


@register.simple_tag
def also_listed_by(organisation):
    """Other trackers' entries for a public record (the record page only shows public ones)."""
    return coverage.listings_of(organisation)
