"""The duplicate finder on its own: which names count as the same organisation."""

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from closures.duplicates import DuplicateFinder, normalise_name
from closures.models import Organisation


class Records(list):
    """Plain records standing in for a queryset: the finder only iterates and prefetches."""

    def prefetch_related(self, *lookups):
        return self


def record(pk, name_en="", name_zh="", acronym="", aliases=()):
    names = [SimpleNamespace(name=alias) for alias in aliases]
    return SimpleNamespace(
        pk=pk,
        name_en=name_en,
        name_zh=name_zh,
        acronym=acronym,
        aliases=SimpleNamespace(all=lambda: names),
    )


PTU = record(1, "Hong Kong Professional Teachers' Union", "香港教育專業人員協會", "PTU")
HKJA = record(2, "Hong Kong Journalists Association", "香港記者協會", "HKJA")
CHRF = record(3, "Civil Human Rights Front", "民間人權陣線", "CHRF", aliases=["民陣"])
REGISTRY = Records([PTU, HKJA, CHRF])


@pytest.mark.parametrize(
    "wanted, expected",
    [
        ({"name_en": "Hong Kong Journalist Association"}, [HKJA]),
        ({"name_en": "ＨＯＮＧ ＫＯＮＧ journalists association."}, [HKJA]),
        ({"name_en": "HK Professional Teachers Union"}, [PTU]),
        ({"name_zh": "香港教育專業人員協會（教協）"}, [PTU]),
        ({"name_zh": "香港記者協會 "}, [HKJA]),
        ({"name_zh": "民陣"}, [CHRF]),
        ({"acronym": "h.k.j.a."}, [HKJA]),
        ({"name_en": "chrf"}, [CHRF]),
        ({"name_en": "Unrelated Group", "name_zh": "無關團體", "acronym": "UG"}, []),
        ({"name_zh": "民協"}, []),
        ({"name_en": "Hong Kong Confederation of Trade Unions", "acronym": "HKCTU"}, []),
    ],
)
def test_known_near_duplicates_in_english_and_chinese_and_acronyms(wanted, expected):
    assert DuplicateFinder(REGISTRY).find(**wanted) == expected


def test_the_record_being_edited_is_not_its_own_duplicate():
    assert DuplicateFinder(REGISTRY).find(name_en=HKJA.name_en, exclude_pk=HKJA.pk) == []


@given(name=st.text(min_size=1, max_size=40).filter(normalise_name))
def test_case_width_punctuation_and_spacing_never_hide_a_name(name):
    finder = DuplicateFinder(Records([record(1, name_en=name)]))
    shouted = "".join(char.upper() if char.isascii() else char for char in name)
    variant = f"  {shouted} ."
    assert [found.pk for found in finder.find(name_en=variant)] == [1]


def test_queryset_method_uses_the_finder(make_organisation):
    existing = make_organisation(name_en="Hong Kong Journalists Association", acronym="HKJA")
    make_organisation(name_en="Hong Kong Confederation of Trade Unions", acronym="HKCTU")
    assert Organisation.objects.likely_duplicates(name_en="HK Journalists Assn") == []
    assert Organisation.objects.likely_duplicates(name_en="Hongkong Journalists Association") == [
        existing
    ]
