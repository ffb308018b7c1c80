"""Tests for course_utils.numerals: Spanish number words with the apocope, and the disjoint pairs."""

from __future__ import annotations

import re

import pytest

from course_utils.numerals import MAX_NUMBER, make_pairs, spanish_words

num2words = pytest.importorskip("num2words").num2words


@pytest.mark.parametrize("n, words", [
    (0, "cero"),
    (1, "uno"),                              # "uno" at the end of a number stays
    (21, "veintiuno"),
    (31, "treinta y uno"),
    (101, "ciento uno"),
    (1000, "mil"),                           # never "un mil"
    (1001, "mil uno"),
    (11000, "once mil"),
    (21000, "veintiún mil"),                 # num2words: "veintiuno mil"
    (21001, "veintiún mil uno"),
    (31000, "treinta y un mil"),             # num2words: "treinta y uno mil"
    (71021, "setenta y un mil veintiuno"),
    (101000, "ciento un mil"),
    (121000, "ciento veintiún mil"),
    (201000, "doscientos un mil"),
    (991021, "novecientos noventa y un mil veintiuno"),
    (2341, "dos mil trescientos cuarenta y uno"),
    (1_000_000, "un millón"),
    (1_000_001, "un millón uno"),
    (21_000_000, "veintiún millones"),
    (31_000_000, "treinta y un millones"),
])
def test_spanish_words_with_apocope(n, words):
    assert spanish_words(n) == words


def test_only_uno_before_mil_changes_about_nine_percent_below_a_million():
    changed = 0
    for n in range(0, MAX_NUMBER + 1, 7):  # every 7th number: all thousands digits and endings occur
        ours, raw = spanish_words(n), num2words(n, lang="es")
        assert spanish_words(n, apocope=False) == raw
        if ours != raw:
            changed += 1
            assert re.search(r"uno mil\b", raw) and not re.search(r"uno mil\b", ours)
            assert ours == re.sub(r"\b(veinti)?uno mil\b", lambda m: ("veintiún" if m.group(1) else "un") + " mil", raw)
        assert "uno mil" not in ours and "veintiun " not in ours
    share = changed / len(range(0, MAX_NUMBER + 1, 7))
    assert share == pytest.approx(0.089, abs=0.002)  # 89,000 of the 1,000,000 numbers


def test_spanish_words_rejects_bad_input():
    with pytest.raises(ValueError, match="≥ 0"):
        spanish_words(-1)
    with pytest.raises(TypeError, match="entero"):
        spanish_words(2.5)
    with pytest.raises(TypeError, match="entero"):
        spanish_words(True)


def test_pairs_are_disjoint_consistent_and_deterministic():
    train, test = make_pairs(3000, 500, seed=3)
    assert len(train) == 3000 and len(test) == 500
    train_numbers = {int(d) for _, d in train}
    test_numbers = {int(d) for _, d in test}
    assert len(train_numbers) == 3000 and len(test_numbers) == 500   # no repeats inside a list
    assert not train_numbers & test_numbers                          # disjoint
    for words, digits in train[:200] + test:
        assert digits == str(int(digits)) and 0 <= int(digits) <= MAX_NUMBER
        assert words == spanish_words(int(digits))
    assert make_pairs(3000, 500, seed=3) == (train, test)
    assert make_pairs(3000, 500, seed=4) != (train, test)
    lengths = {len(d) for _, d in train}
    assert lengths == {1, 2, 3, 4, 5, 6}   # short numbers are present, not only six-digit ones


def test_pairs_with_a_small_range_and_bad_sizes():
    train, test = make_pairs(90, 10, seed=0, max_number=99)
    assert sorted(int(d) for _, d in train + test) == list(range(100))
    with pytest.raises(ValueError, match="distintos"):
        make_pairs(100, 1, max_number=99)
    with pytest.raises(ValueError, match="al menos"):
        make_pairs(0, 5)
