"""Likely duplicates: organisations whose name, acronym or alias matches a new one's.

Pure Python, so it behaves the same on SQLite and PostgreSQL. Names are folded (case, width,
punctuation, spacing) and then compared with RapidFuzz's normalised Indel similarity, which
scores one name against thousands in compiled code: no hand-built index is needed to keep a
lookup cheap.
"""

import re
import unicodedata
from collections import defaultdict

from rapidfuzz import fuzz, process

# Two folded names at least this similar (0–100, RapidFuzz's `fuzz.ratio`) are flagged.
# An ideograph (with the compatibility block archived sources carry): a name in Chinese.
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
DUPLICATE_NAME_SIMILARITY = 90


def normalise_name(name: str) -> str:
    """Fold case, full-width forms and punctuation so trivially different names compare equal."""
    folded = unicodedata.normalize("NFKC", name or "").casefold()
    return re.sub(r"[\W_]+", "", folded)


class DuplicateFinder:
    """The folded names of a set of organisations, built once and asked many times.

    "H.K. Alliance" and "HK  Alliance" fold to the same name; "HK Journalist Association"
    is within the similarity threshold of "HK Journalists Association"; an acronym matches
    an acronym or a whole name ("hkja", "民陣").
    """

    def __init__(self, organisations):
        self.organisations: list = []
        self.by_name: dict[str, set[int]] = defaultdict(set)
        self.by_acronym: dict[str, set[int]] = defaultdict(set)
        for index, organisation in enumerate(organisations.prefetch_related("aliases")):
            self.organisations.append(organisation)
            names = {organisation.name_en, organisation.name_zh}
            names.update(alias.name for alias in organisation.aliases.all())
            for name in {normalise_name(name) for name in names} - {""}:
                self.by_name[name].add(index)
            if acronym := normalise_name(organisation.acronym):
                self.by_acronym[acronym].add(index)
        self.names = list(self.by_name)

    def find(self, *, name_en="", name_zh="", acronym="", exclude_pk=None) -> list:
        wanted = {normalise_name(name_en), normalise_name(name_zh)} - {""}
        acronym = normalise_name(acronym)
        found: set[int] = set()
        if acronym:
            found |= self.by_acronym.get(acronym, set()) | self.by_name.get(acronym, set())
        for name in wanted:
            found |= self.by_acronym.get(name, set())
            similar = process.extract(
                name,
                self.names,
                scorer=fuzz.ratio,
                score_cutoff=DUPLICATE_NAME_SIMILARITY,
                limit=None,
            )
            for other, _score, _index in similar:
                found |= self.by_name[other]
        matches = [self.organisations[index] for index in sorted(found)]
        return [organisation for organisation in matches if organisation.pk != exclude_pk]
