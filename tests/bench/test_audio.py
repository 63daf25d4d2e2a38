"""Reference audio: synthesized conversations, LibriVox clips, streaming helpers."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import soundfile as sf

import bench.audio as audio
from bench.audio import (CONVERSATIONS_JSON, VoiceSpec, librivox_clips, load_conversation,
                         load_pcm16k, pcm16_bytes, pcm16_chunks, play_realtime_chunks, resample,
                         synthesize_conversation, trim_silence)


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    return load_conversation("short", tmp_path_factory.mktemp("conv"))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_short_conversation_is_16k_mono_pcm16(short):
    info = sf.info(str(short.path))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert info.duration == pytest.approx(short.duration, abs=1e-3)
    assert 8.0 < short.duration < 20.0


def test_short_conversation_turns_and_text(short):
    script = json.loads(CONVERSATIONS_JSON.read_text())["short"]["turns"]
    assert [(t.speaker, t.text) for t in short.turns] == [tuple(t) for t in script]
    assert short.text == " ".join(text for _, text in script)
    assert short.speakers == ["A", "B"]
    assert short.voices["A"] != short.voices["B"]
    sidecar = json.loads(short.path.with_suffix(".json").read_text())
    assert sidecar["turns"][0]["start"] == short.turns[0].start


def test_turn_times_are_monotone_and_inside_the_file(short):
    prev_end = 0.0
    for turn in short.turns:
        assert prev_end < turn.start < turn.end <= short.duration
        assert 0.8 < turn.duration < 8.0
        prev_end = turn.end
    gaps = [b.start - a.end for a, b in zip(short.turns, short.turns[1:])]
    assert all(0.39 <= g <= 1.01 for g in gaps), gaps
    assert len({round(g, 2) for g in gaps}) > 1  # varied, not one fixed pause


def test_turn_audio_is_the_cached_render(short):
    x = short.samples()
    turn = short.turns[1]
    render = audio.render_turn(short.voices[turn.speaker], turn.text)
    start = int(round(turn.start * 16000))
    np.testing.assert_array_equal(x[start:start + len(render)], render)
    assert start + len(render) == int(round(turn.end * 16000))


def test_turns_are_speech_and_gaps_are_silence(short):
    x = short.samples()
    sr = short.sample_rate
    edges = [0.0] + [v for t in short.turns for v in (t.start, t.end)] + [short.duration]
    for t in short.turns:
        region = x[int(round(t.start * sr)):int(round(t.end * sr))]
        assert _rms(region) > 0.03, t
        # tight: the first and last 50 ms of a turn hold sound
        assert np.abs(region[:800]).max() > 0.01 and np.abs(region[-800:]).max() > 0.01, t
    for start, end in zip(edges[::2], edges[1::2]):
        gap = x[int(round(start * sr)):int(round(end * sr))]
        assert gap.size and np.abs(gap).max() < 1e-3, (start, end)


def test_renders_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("PARLEY_BENCH_CACHE", str(tmp_path / "cache"))
    first = audio.render_turn("espeak:en-us+f2", "Hello there.")
    files = list((tmp_path / "cache" / "tts").glob("*.wav"))
    assert len(files) == 1
    monkeypatch.setattr(audio, "_synthesize", lambda *a: pytest.fail("not cached"))
    np.testing.assert_array_equal(audio.render_turn("espeak:en-us+f2", "Hello there."), first)


def test_synthesize_custom_turns_voices_and_rate(tmp_path):
    conv = synthesize_conversation([("x", "Yes."), ("x", "No, thank you.")], tmp_path / "c.wav",
                                   voices={"x": "espeak:en-us+m7"}, sample_rate=48000,
                                   lead_s=0.0, tail_s=0.2)
    assert sf.info(str(conv.path)).samplerate == 48000
    assert conv.turns[0].start == 0.0
    assert conv.voices == {"x": "espeak:en-us+m7"}


def test_voice_spec_parsing():
    assert VoiceSpec.parse("piper:en_US-joe-medium,pitch=700") == VoiceSpec("piper", "en_US-joe-medium", 700.0)
    assert VoiceSpec.parse("espeak:en-us+f2,speed=1.2").speed == 1.2
    for bad in ("f2", "sam:x", "espeak:en,volume=3"):
        with pytest.raises(ValueError):
            VoiceSpec.parse(bad)


def test_conversation_scripts_are_well_formed():
    scripts = json.loads(CONVERSATIONS_JSON.read_text())
    assert len(scripts["short"]["turns"]) == 4
    long_ones = [s for name, s in scripts.items() if name != "short"]
    assert 2 <= len(long_ones) <= 3
    for script in long_ones:
        turns = script["turns"]
        assert 8 <= len(turns) <= 14
        assert {s for s, _ in turns} == {"A", "B"}
        assert any(a[0] == b[0] for a, b in zip(turns, turns[1:]))  # someone speaks twice
        assert all(4 <= len(text.split()) <= 15 for _, text in turns)


def test_unknown_conversation(tmp_path):
    with pytest.raises(KeyError, match="short"):
        load_conversation("nope", tmp_path)


def test_librivox_clips_load_with_references():
    clips = librivox_clips()
    assert len(clips) == 5
    for clip in clips:
        assert clip.path.exists() and len(clip.text.split()) >= 5
        assert "<s>" not in clip.text and "(" not in clip.text
        x = load_pcm16k(clip.path)
        assert x.dtype == np.float32 and 2.0 < len(x) / 16000 < 15.0
        assert _rms(x) > 0.01


def test_librivox_missing_names_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(audio, "LIBRIVOX_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="apt-get install pocketsphinx-testdata"):
        librivox_clips()


def test_load_pcm16k_downmixes_and_resamples(tmp_path):
    t = np.arange(22050) / 22050
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    sf.write(str(tmp_path / "s.wav"), np.stack([tone, tone], axis=1), 22050)
    x = load_pcm16k(tmp_path / "s.wav")
    assert len(x) == 16000
    spectrum = np.abs(np.fft.rfft(x))
    assert abs(np.argmax(spectrum) - 440) <= 1  # 1 Hz bins over one second
    assert resample(x, 16000, 16000) is x


def test_trim_silence():
    x = np.concatenate([np.zeros(1600), 0.5 * np.ones(3200), np.zeros(4800)]).astype(np.float32)
    assert len(trim_silence(x)) == 3200


def test_pcm16_bytes_and_chunks():
    x = np.array([0.0, 1.0, -1.0, 2.0, 0.5], dtype=np.float32)
    assert np.frombuffer(pcm16_bytes(x), "<i2").tolist() == [0, 32767, -32768, 32767, 16384]
    y = np.array([-32768, -1, 0, 12345, 32767], dtype=np.int16)
    assert np.frombuffer(pcm16_bytes(y.astype(np.float32) / 32768), "<i2").tolist() == y.tolist()
    chunks = list(pcm16_chunks(np.zeros(16000 + 100, np.float32), chunk_ms=20))
    assert [len(c) for c in chunks[:-1]] == [640] * 50 and len(chunks[-1]) == 200
    raw = pcm16_bytes(np.zeros(320, np.float32))
    assert list(pcm16_chunks(raw, chunk_ms=10)) == [raw[:320], raw[320:]]


def test_play_realtime_chunks_paces_audio():
    t0 = time.monotonic()
    chunks = list(play_realtime_chunks(np.zeros(8000, np.float32), chunk_ms=20, speed=2.0))
    elapsed = time.monotonic() - t0
    assert len(chunks) == 25
    assert elapsed > 0.22  # 0.5 s of audio at 2x speed


async def test_aplay_realtime_chunks():
    t0 = time.monotonic()
    chunks = [c async for c in audio.aplay_realtime_chunks(np.zeros(3200, np.float32), speed=2.0)]
    assert len(chunks) == 10 and time.monotonic() - t0 > 0.04
