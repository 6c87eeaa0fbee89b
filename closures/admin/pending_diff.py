"""The diff of a waiting change against the live record, as the record's change page shows it."""

import difflib

from django.utils.html import format_html_join

from .. import services
from ..models import AliasKind, Claim, Language, PendingChange, Reason, Source
from ..services.pending import CHILD_LISTS, conflicting_fields, field_label


def diff_rows(change: PendingChange, record) -> list[dict]:
    """Field, live value, proposed value (and a word diff of texts), in the form's order."""
    live = services.live_values(record)
    conflicts = set(conflicting_fields(change, record))
    model = type(record)
    rows = []
    for name, value in sorted(change.proposed.items()):
        before, after = display(model, name, live[name]), display(model, name, value)
        rows.append(
            {
                "label": field_label(model, name) if name not in CHILD_LISTS.values() else name,
                "live": before,
                "proposed": after,
                "words": word_diff(before, after),
                "conflict": name in conflicts,
            }
        )
    return rows


def display(model, name: str, value) -> str:
    if value in (None, "", []):
        return "—"
    if name == "aliases":
        return "\n".join(
            f"{alias} ({Language(language).label}, {AliasKind(kind).label})"
            for alias, language, kind in value
        )
    if name == "citations":
        sources = Source.objects.in_bulk([citation["source"] for citation in value])
        return "\n".join(
            f"{sources.get(citation['source'], citation['source'])}"
            f"{': ' + citation['quote'] if citation['quote'] else ''} "
            f"[{', '.join(str(Claim(claim).label) for claim in citation['claims'])}]"
            for citation in value
        )
    field = model._meta.get_field(name)
    if field.many_to_many:
        return ", ".join(str(reason) for reason in Reason.objects.filter(pk__in=value))
    if field.is_relation:
        return str(field.related_model.objects.filter(pk=value).first() or value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def word_diff(before: str, after: str):
    """Words removed and added, marked up, for texts long enough to need it."""
    if max(len(before), len(after)) < 40:
        return None
    old, new = before.split(), after.split()
    parts = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new).get_opcodes():
        if op in ("replace", "delete"):
            parts.append(("del", " ".join(old[i1:i2])))
        if op in ("replace", "insert"):
            parts.append(("ins", " ".join(new[j1:j2])))
        if op == "equal":
            parts.append(("span", " ".join(old[i1:i2])))
    return format_html_join(" ", "<{0}>{1}</{0}>", parts)
