"""A paginator for deep pages of large, wide querysets (the admin's changelists, the listing)."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property

# Up to this many matches, one query gives every key in order: the count and any page.
KEYS_AT_ONCE = 10_000


class KeysFirstPaginator(Paginator):
    """Find a page's keys first, then load only those rows.

    `OFFSET 75000` over full rows sorts every record with all its columns and computes each
    annotation (the admin's "last changed by") for every skipped row. Over the keys alone
    the offset is walked in an index; the page's rows are then loaded by key.

    A search's first pages are not found by walking the ordering's index either: when the
    matches cluster late in that order (one district's names), PostgreSQL walks tens of
    thousands of rows to find the first hundred. The keys of up to `KEYS_AT_ONCE` rows are
    read at once instead (the search index, then a sort), and give the count as well.
    """

    @cached_property
    def leading_keys(self) -> list:
        return list(self.object_list.values_list("pk", flat=True)[: KEYS_AT_ONCE + 1])

    @cached_property
    def count(self):
        if len(self.leading_keys) <= KEYS_AT_ONCE:
            return len(self.leading_keys)
        return super().count

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if top <= len(self.leading_keys):
            keys = self.leading_keys[bottom:top]
        else:
            keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = {row.pk: row for row in self.object_list.filter(pk__in=keys)}
        return self._get_page([rows[key] for key in keys if key in rows], number, self)
