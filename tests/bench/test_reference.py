"""Reading RTTM/STM references and scoring caption finals against them, on hand-made cases."""

from __future__ import annotations

import pytest

from bench.reference import (RefTurn, ReferenceError, read_reference, read_rttm, read_stm, score,
                             write_rttm, write_stm)

RTTM = """\
SPEAKER call 1 0.500 2.000 <NA> <NA> alice <NA> <NA>
SPEAKER call 1 2.300 1.700 <NA> <NA> bob <NA> <NA>
SPEAKER call 1 3.800 1.000 <NA> <NA> alice <NA> <NA>
"""

STM = """\
;; a comment line
call 1 alice 0.0 4.0 <o,f0,female> what is the capital of france
call 1 bob 4.0 8.0 paris is the capital
"""


def test_read_rttm_turns_and_overlap(tmp_path):
    path = tmp_path / "call.rttm"
    path.write_text(RTTM)
    ref = read_rttm(path)
    assert [(t.start, t.end, t.speaker) for t in ref.turns] == [
        (0.5, 2.5, "alice"), (2.3, 4.0, "bob"), (3.8, 4.8, "alice")]
    assert ref.speakers == ["alice", "bob"] and not ref.has_text


def test_read_stm_skips_comments_and_labels(tmp_path):
    path = tmp_path / "call.stm"
    path.write_text(STM)
    ref = read_stm(path)
    assert ref.has_text
    assert ref.text == "what is the capital of france paris is the capital"
    assert ref.turns[1] == RefTurn(4.0, 8.0, "bob", "paris is the capital")


def test_written_references_read_back(tmp_path):
    turns = [RefTurn(1.25, 2.5, "B", "second"), RefTurn(0.0, 1.0, "A", "first words")]
    write_rttm(tmp_path / "x.rttm", "x", turns)
    write_stm(tmp_path / "x.stm", "x", turns)
    assert [(t.start, t.end, t.speaker) for t in read_reference(tmp_path / "x.rttm").turns] == [
        (0.0, 1.0, "A"), (1.25, 2.5, "B")]
    assert read_reference(tmp_path / "x.stm").text == "first words second"


def test_bad_reference_files_say_where(tmp_path):
    bad = tmp_path / "bad.rttm"
    bad.write_text("SPEAKER call 1 zero 1.0 <NA> <NA> a <NA> <NA>\n")
    with pytest.raises(ReferenceError, match="bad.rttm:1"):
        read_rttm(bad)
    other = tmp_path / "ref.txt"
    other.write_text("hello")
    with pytest.raises(ReferenceError, match=".rttm or .stm"):
        read_reference(other)


def test_one_long_final_over_two_speakers_scores_half_confusion(tmp_path):
    path = tmp_path / "call.stm"
    path.write_text(STM)
    result = score(read_stm(path), [
        {"start": 0.0, "end": 8.0, "speaker": "S1",
         "text": "What is the capital of friends? Paris is the capital."}])
    assert result["der"] == pytest.approx(0.5, abs=0.01)
    assert result["der_parts"]["confusion"] == pytest.approx(0.5, abs=0.01)
    assert result["wer"] == pytest.approx(1 / 10)
    assert (result["finals"], result["longest_final_s"]) == (1, 8.0)
    assert result["speakers"] == {"reference": 2, "hypothesis": 1}


def test_split_finals_with_swapped_labels_score_perfect(tmp_path):
    path = tmp_path / "call.stm"
    path.write_text(STM)
    finals = [{"start": 4.0, "end": 8.0, "speaker": "S1", "text": "paris is the capital"},
              {"start": 0.0, "end": 4.0, "speaker": "S2", "text": "what is the capital of france"}]
    result = score(read_stm(path), finals)
    assert (result["der"], result["wer"], result["finals"], result["longest_final_s"]) == (0.0, 0.0, 2, 4.0)


def test_no_collar_counts_boundary_errors(tmp_path):
    path = tmp_path / "call.rttm"
    path.write_text("SPEAKER c 1 0.0 10.0 <NA> <NA> a <NA> <NA>\nSPEAKER c 1 10.0 10.0 <NA> <NA> b <NA> <NA>\n")
    late = [(0.0, 11.0, "x"), (11.0, 20.0, "y")]
    result = score(read_rttm(path), [{"start": s, "end": e, "speaker": k, "text": ""} for s, e, k in late])
    assert result["der"] == pytest.approx(1 / 20, abs=0.002)
    assert "wer" not in result
