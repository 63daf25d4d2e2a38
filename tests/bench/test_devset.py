"""The development set: real recordings spliced into conversations with correct references."""

from __future__ import annotations

import numpy as np
import pytest

from bench.audio import load_pcm16k
from bench.devset.degrade import opus_round_trip, telephone
from bench.devset.sources import RealClip
from bench.devset.splice import splice
from bench.reference import read_reference

SR = 16000


def _tone(seconds: float, hz: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _clip(name: str, speaker: str, seconds: float, hz: float) -> RealClip:
    silence = np.zeros(SR // 4, np.float32)
    return RealClip(name, speaker, name, np.concatenate([silence, _tone(seconds, hz), silence]), "test")


@pytest.mark.parametrize("mode", ["gaps", "nogap", "overlap"])
def test_splice_places_turns_as_the_mode_says(mode):
    first = [_clip(f"a{i}", "A", 2.0, 440) for i in range(3)]
    second = [_clip(f"b{i}", "B", 1.0, 690) for i in range(3)]
    audio, rttm, stm = splice(first, second, mode, seed=1)
    assert [t.speaker for t in stm] == ["A", "B"] * 3 and [t.text for t in stm][:2] == ["a0", "b0"]
    gaps = [b.start - a.end for a, b in zip(stm, stm[1:])]
    if mode == "gaps":
        assert all(0.14 <= g <= 0.51 for g in gaps)
    elif mode == "nogap":
        assert all(abs(g) < 0.002 for g in gaps)
    else:
        assert all(-0.71 <= g <= -0.19 for g in gaps)
    for turn in rttm:  # each reference turn is sound, and the trimmed silence is gone
        piece = audio[int(turn.start * SR) + 80:int(turn.end * SR) - 80]
        assert np.sqrt(np.mean(piece ** 2)) > 0.05
    assert abs(stm[0].end - stm[0].start - 2.0) < 0.02
    assert len(audio) / SR == pytest.approx(stm[-1].end + 1.5, abs=0.01)


def test_telephone_band_keeps_speech_band_and_drops_the_rest():
    low, high = _tone(1.0, 1000), _tone(1.0, 6000)
    assert np.std(telephone(low)[1000:-1000]) > 0.8 * np.std(low)
    assert np.std(telephone(high)[1000:-1000]) < 0.03 * np.std(high)


@pytest.mark.parametrize("bitrate", [12000, 32000])
def test_opus_round_trip_keeps_length_and_waveform(bitrate):
    clip = _tone(1.0, 300) + _tone(1.0, 1200, 0.1)
    out = opus_round_trip(clip, bitrate)
    assert len(out) == len(clip)
    assert np.corrcoef(out[2000:-2000], clip[2000:-2000])[0, 1] > 0.9


@pytest.mark.slow
def test_real_dev_set_references_match_its_audio(real_dev_set):
    dev = real_dev_set
    sets = {name: len(dev.clips_of(name)) for name in ("librivox", "real-short", "real-other")}
    assert sets == {"librivox": 5, "real-short": 42, "real-other": 1}, dev.skipped
    assert len({clip.speaker for clip in dev.clips}) == 13  # real voices, a podcast's hosts counted as one
    for clip in dev.clips_of("real-short"):  # each a short stretch of speech with its words
        audio = load_pcm16k(clip.path)
        assert 0.5 < len(audio) / SR <= 6.0 and clip.text.strip(), clip.name
        frames = audio[: len(audio) // 160 * 160].reshape(-1, 160)
        loud = np.sqrt(np.mean(frames ** 2, axis=1))
        assert loud.max() > 0.01 and (loud > 0.1 * loud.max()).sum() * 0.01 >= 0.3, clip.name  # 0.3 s of voice
    kinds = {conv.kind for conv in dev.conversations}
    assert kinds == {"spliced-gaps", "spliced-nogap", "spliced-overlap", "real-call"}
    for conv in dev.conversations:
        audio = load_pcm16k(conv.path)
        reference = read_reference(conv.stm or conv.rttm)
        assert len(reference.speakers) == 2
        assert max(t.end for t in reference.turns) <= len(audio) / SR + 0.01
        speech = np.concatenate([audio[int(t.start * SR):int(t.end * SR)] for t in reference.turns])
        assert np.sqrt(np.mean(speech ** 2)) > 3 * np.sqrt(np.mean(audio[: int(reference.turns[0].start * SR)] ** 2) + 1e-9)
        if conv.kind == "spliced-overlap" or conv.kind == "real-call":
            turns = sorted(reference.turns, key=lambda t: t.start)
            assert any(b.start < a.end and a.speaker != b.speaker for a, b in zip(turns, turns[1:]))
    assert "ten of clubs" in read_reference(next(c.stm for c in dev.conversations if c.stm)).text
