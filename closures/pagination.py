"""A paginator for deep pages of large, wide querysets (the admin's changelists)."""

from django.core.paginator import Paginator


class KeysFirstPaginator(Paginator):
    """Find a page's keys first, then load only those rows.

    `OFFSET 75000` over full rows sorts every record with all its columns and computes each
    annotation (the admin's "last changed by") for every skipped row. Over the keys alone
    the offset is walked in an index; the page's hundred rows are then loaded by key.
    """

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = {row.pk: row for row in self.object_list.filter(pk__in=keys)}
        return self._get_page([rows[key] for key in keys if key in rows], number, self)
