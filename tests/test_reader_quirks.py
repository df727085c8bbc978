"""Reader corners where a plausible reading differs from abc2midi's, each on a one-line tune.

Each case is compared note for note with abc2midi (the reference implementation,
via st4rt_repl.formats.abc_reference), and with a *near miss*: the same tune with
the quirk read the other plausible way.  abc2midi must play the near miss
differently, so the case can only pass when our reader takes abc2midi's reading.
"""
from __future__ import annotations

import shutil
from fractions import Fraction

import pytest

from st4rt_repl.formats import abc_reference as ref
from st4rt_repl.formats.abc_in import read_abc_text

pytestmark = pytest.mark.skipif(shutil.which("abc2midi") is None,
                                reason="abc2midi (Debian package abcmidi) is not installed")

HEAD = "X:1\nT:t\nM:2/4\nL:1/8\nK:D\n"


def ours(text: str):
    return ref.tune_notes(read_abc_text(text).tune)


def assert_reads_like_abc2midi(text: str, near_miss: str):
    """Our notes equal abc2midi's for `text`; abc2midi plays `near_miss` otherwise."""
    want = ref.reference_notes(text)
    assert not ref.compare(ref.reference_notes(near_miss), want).exact, "the near miss must differ"
    got = ours(text)
    assert ref.compare(got, want).exact, (got, want)
    return got


def pitches(notes) -> list[int]:
    return [p for _, _, p in notes]


def test_second_start_repeat_reads_as_a_double_repeat():
    """abc2midi reads ``|: A |: B :|`` as ``|: A :: B :|``: A A B B, not A B B."""
    got = assert_reads_like_abc2midi(HEAD + "|:AB cd|:ef ga:|\n", HEAD + "AB cd|:ef ga:|\n")
    assert pitches(got) == [69, 71, 73, 74] * 2 + [76, 78, 79, 81] * 2


def test_skipped_first_ending_holding_a_double_bar():
    """A first ending that contains ``||``: the skip on the second pass ends at the ``||``."""
    text = HEAD + "|:AB cd|1 ef ga||bc' d'e':|2 BA GF|]\n"
    assert_reads_like_abc2midi(text, text.replace("||", "|"))


def test_tie_to_the_same_letter_with_another_accidental():
    """abc2midi ties ``^c2-|=c2`` by letter: one C sharp a half note long, no C natural."""
    text = HEAD + "AB ^c2-|=c2 d2|\n"
    got = assert_reads_like_abc2midi(text, HEAD + "AB ^c2|=c2 d2|\n")
    assert got[2:] == [(1, 2, 73), (3, 1, 74)]


def test_quintuplet_after_an_inline_compound_meter():
    """``(5`` takes its ratio from the header's M: (4/4: 5 in the time of 2), not from [M:6/8]."""
    text = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\n[M:6/8](5ABcde f|\n"
    got = assert_reads_like_abc2midi(text, "X:1\nT:t\nM:6/8\nL:1/8\nK:D\n(5ABcde f|\n")
    assert [d for _, d, _ in got[:5]] == [Fraction(1, 5)] * 5


def test_septuplet_after_an_inline_compound_meter():
    text = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\n[M:6/8](7ABcdefg a|\n"
    assert_reads_like_abc2midi(text, "X:1\nT:t\nM:6/8\nL:1/8\nK:D\n(7ABcdefg a|\n")


def test_chord_length_is_its_first_notes_length():
    """``[A2c]`` lasts as long as its first note (a quarter here), like ``[A2c2]``."""
    text = HEAD + "[A2c] B c d|\n"
    got = assert_reads_like_abc2midi(text, HEAD + "[Ac] B c d|\n")
    assert got[0] == (0, Fraction(1), 73)      # the chord's top note, a quarter long


def test_inline_unit_length():
    text = HEAD + "AB [L:1/16] cd ef|ga bc'|\n"
    got = assert_reads_like_abc2midi(text, HEAD + "AB cd ef|ga bc'|\n")
    assert [d for _, d, _ in got] == [Fraction(1, 2)] * 2 + [Fraction(1, 4)] * 8


def test_inline_tempo_changes_no_lengths():
    """``[Q:1/4=60]`` changes the speed only, not the unit length (as ``[L:1/4]`` would)."""
    text = HEAD + "AB [Q:1/4=60] cd|ef ga|\n"
    got = assert_reads_like_abc2midi(text, HEAD + "AB [L:1/4] cd|ef ga|\n")
    assert got == ours(HEAD + "AB cd|ef ga|\n")


def test_inline_part_labels_follow_the_header_order():
    """Header ``P:BA`` with inline ``[P:A]``/``[P:B]``: part B is heard first."""
    text = "X:1\nT:t\nM:2/4\nL:1/8\nP:BA\nK:D\n[P:A] AB cd|ef ga|[P:B] bc' d'e'|BA GF|]\n"
    got = assert_reads_like_abc2midi(text, text.replace("P:BA\n", ""))
    assert pitches(got)[:4] == [83, 85, 86, 88]


def test_additive_meter_sets_the_default_unit_length():
    """``M:2+3/8`` is 5/8 (under 3/4), so with no L: the unit is a sixteenth."""
    text = "X:1\nT:t\nM:2+3/8\nK:D\nABcde|fgabc|\n"
    got = assert_reads_like_abc2midi(text, "X:1\nT:t\nM:2+3/8\nL:1/8\nK:D\nABcde|fgabc|\n")
    assert read_abc_text(text).tune.meter == (5, 8)
    assert {d for _, d, _ in got} == {Fraction(1, 4)}


def test_endings_over_four_passes_followed_by_more_music():
    """``|:A|[1,3 B:|[2,4 C:|`` is heard four times also when another section follows
    (found by tests/test_properties.py::test_performed_form_equals_abc2midi)."""
    text = HEAD + "|:AB|[1,3 cd:|[2,4 ef:||:ga:|\n"
    got = assert_reads_like_abc2midi(text, HEAD + "|:AB|[1 cd:|[2 ef||:ga:|\n")
    assert pitches(got) == [69, 71, 73, 74, 69, 71, 76, 78] * 2 + [79, 81] * 2
