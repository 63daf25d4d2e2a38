"""Scoring metrics on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from bench.audio import Turn
from bench.metrics import (_edit_counts, der, normalize_text, number_to_words, percentiles,
                           wer, wer_details)

# ----------------------------------------------------------------------------- text / WER


@pytest.mark.parametrize("raw, expected", [
    ("Hello, World!", "hello world"),
    ("Don't  STOP—it's well-known.", "dont stop its well known"),
    ("We need 10 chairs", "we need ten chairs"),
    ("the 3rd of 21 and 1,500", "the third of twenty one and one thousand five hundred"),
    ("25% of $40", "twenty five percent of forty dollars"),
    ("meet at 3:30 or 3:05", "meet at three thirty or three oh five"),
    ("in 2024 and 1984 and 2005", "in twenty twenty four and nineteen eighty four and two thousand five"),
    ("3.5 hours, okay?", "three point five hours ok"),
    ("Tom & Jerry", "tom and jerry"),
    ("Go forward ten metres.", "go forward ten meters"),
])
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_number_to_words():
    assert number_to_words(0) == "zero"
    assert number_to_words(115) == "one hundred fifteen"
    assert number_to_words(1900) == "nineteen hundred"
    assert number_to_words(1900, years=False) == "one thousand nine hundred"
    assert number_to_words(2_000_040) == "two million forty"


def test_wer_perfect_and_after_normalization():
    assert wer("The cat sat on the mat.", "the cat sat on the mat") == 0.0
    assert wer("I have ten dollars", "I have 10 dollars") == 0.0


def test_wer_one_substitution_in_six_words():
    d = wer_details("the cat sat on the mat", "the cat sat on a mat")
    assert (d.substitutions, d.deletions, d.insertions, d.reference_words) == (1, 0, 0, 6)
    assert d.wer == pytest.approx(1 / 6)


def test_wer_deletions_and_insertions():
    assert wer_details("a b c d", "a c d").deletions == 1
    d = wer_details("a b", "a x b y")
    assert (d.insertions, d.wer) == (2, 1.0)
    assert wer("a b", "") == 1.0


def test_wer_empty_reference():
    assert wer("", "") == 0.0
    assert wer("", "something") == 1.0


def test_corpus_wer_sums_errors_over_pairs():
    # 1 error in 2 words + 0 errors in 8 words = 1/10, not the mean of 0.5 and 0
    assert wer(["a b", "c d e f g h i j"], ["a x", "c d e f g h i j"]) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        wer(["a"], ["a", "b"])


def test_fallback_edit_distance_agrees_with_jiwer():
    jiwer = pytest.importorskip("jiwer")
    pairs = [("the quick brown fox jumps", "a quick brown fox jumped over"),
             ("one two three four five six", "two three five six seven"),
             ("we meet on monday", "well meet monday morning then")]
    for ref, hyp in pairs:
        out = jiwer.process_words(ref, hyp)
        assert sum(_edit_counts(ref.split(), hyp.split())) == (
            out.substitutions + out.deletions + out.insertions)


# ----------------------------------------------------------------------------- DER

REF = [Turn("A", "x", 0.0, 5.0), Turn("B", "y", 5.0, 10.0)]


@pytest.mark.parametrize("collar", [0.0, 0.25])
def test_der_perfect(collar):
    r = der(REF, [(0.0, 5.0, "A"), (5.0, 10.0, "B")], collar=collar)
    assert (r.der, r.missed, r.false_alarm, r.confusion) == (0.0, 0.0, 0.0, 0.0)


def test_der_swapped_labels_are_mapped():
    r = der(REF, [{"start": 0.0, "end": 5.0, "speaker": "spk1"},
                  {"start": 5.0, "end": 10.0, "speaker": "spk0"}], collar=0.0)
    assert r.der == 0.0
    assert r.mapping == {"spk1": "A", "spk0": "B"}
    assert r.scored_s == pytest.approx(10.0)


@pytest.mark.parametrize("collar", [0.0, 0.25])
def test_der_missed_half(collar):
    r = der([Turn("A", "x", 0.0, 10.0)], [(0.0, 5.0, "A")], collar=collar)
    assert r.missed == pytest.approx(0.5)
    assert r.der == pytest.approx(0.5)
    assert r.false_alarm == 0.0 and r.confusion == 0.0


def test_der_one_hypothesis_speaker_for_two_is_half_confusion():
    r = der([(0.0, 10.0, "A"), (10.0, 20.0, "B")], [(0.0, 20.0, "X")], collar=0.0)
    assert r.confusion == pytest.approx(0.5)
    assert r.der == pytest.approx(0.5)


def test_der_false_alarm():
    r = der([(0.0, 10.0, "A")], [(0.0, 10.0, "A"), (10.0, 15.0, "B")], collar=0.0)
    assert r.false_alarm == pytest.approx(0.5)
    assert r.missed == 0.0 and r.confusion == 0.0


def test_der_collar_forgives_small_boundary_offsets():
    hyp = [(0.0, 10.2, "A"), (10.2, 20.0, "B")]
    ref = [(0.0, 10.0, "A"), (10.0, 20.0, "B")]
    assert der(ref, hyp, collar=0.25).der == 0.0
    assert der(ref, hyp, collar=0.0).confusion == pytest.approx(0.2 / 20)


def test_der_overlapping_reference_speech():
    # 15 s of reference speech (A 0-10, B 5-10 overlapping); hypothesis only has A
    r = der([(0.0, 10.0, "A"), (5.0, 10.0, "B")], [(0.0, 10.0, "A")], collar=0.0)
    assert r.missed == pytest.approx(5 / 15)
    assert r.confusion == 0.0


def test_der_more_hypothesis_speakers_than_reference():
    # the extra speaker "Z" gets no mapping, so its 2 s are confusion
    r = der([(0.0, 10.0, "A")], [(0.0, 8.0, "X"), (8.0, 10.0, "Z")], collar=0.0)
    assert r.confusion == pytest.approx(0.2)
    assert r.mapping == {"X": "A"}


def test_der_empty_hypothesis_and_reference():
    assert der(REF, [], collar=0.0).missed == 1.0
    assert der([], [], collar=0.0).der == 0.0
    assert der([], [(0.0, 1.0, "X")], collar=0.0).der == 1.0


# ----------------------------------------------------------------------------- latency


def test_percentiles():
    p = percentiles(range(1, 101))
    assert p["p50"] == pytest.approx(50.5)
    assert p["p95"] == pytest.approx(95.05)
    assert (p["max"], p["n"]) == (100.0, 100)
    assert percentiles([0.2], qs=(50, 99))["p99"] == 0.2


def test_percentiles_empty_is_nan():
    p = percentiles([])
    assert math.isnan(p["p50"]) and math.isnan(p["p95"]) and p["n"] == 0
