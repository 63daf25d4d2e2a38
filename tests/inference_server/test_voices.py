"""The assistant's voices: each catalog voice loads from its pinned wheel and is heard right by the ASR."""

from __future__ import annotations

import numpy as np
import pytest

from bench.metrics import normalize_text
from bench.tts_voices import heard
from inference_server import catalog
from inference_server.catalog import ModelError, profile_entries
from inference_server.loader import load_tts
from inference_server.models.tts import LEAD_S, TAIL_S, HibariTTS, PiperTTS, trim_silence

REPLY = "The capital of France is Paris. A spider has eight legs."


def test_tts_override_replaces_the_profile_voice_and_checks_the_capability():
    assert profile_entries("cpu", tts_override="hibari-heart")["tts"].name == "hibari-heart"
    with pytest.raises(ModelError, match="does asr, not tts"):
        profile_entries("cpu", tts_override="whisper-tiny.en")


def silence_around(pcm: np.ndarray, rate: int) -> tuple[float, float]:
    """Seconds before the first and after the last 10 ms above -40 dB of the loudest 10 ms: sound as a
    listener hears it (a sample-peak threshold sits higher and counted Piper's soft onsets as silence)."""
    frame = rate // 100
    count = len(pcm) // frame
    rms = np.sqrt(np.mean(pcm[: count * frame].astype(np.float32).reshape(count, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 0.01)
    return loud[0] * frame / rate, (len(pcm) - (loud[-1] + 1) * frame) / rate


def test_a_sentence_is_trimmed_to_its_sound_with_a_short_pause_after():
    rate = 24000
    tone = (np.sin(np.arange(rate) / rate * 2 * np.pi * 200) * 8000).astype(np.int16)
    padded = np.concatenate([np.zeros(int(0.3 * rate), np.int16), tone, np.zeros(int(0.45 * rate), np.int16)])
    before, after = silence_around(trim_silence(padded, rate), rate)
    assert before <= LEAD_S + 0.01 and after <= TAIL_S + 0.01
    assert len(trim_silence(np.zeros(rate, np.int16), rate)) == 0


@pytest.mark.slow
@pytest.mark.parametrize("name,backend", [("hibari-heart", HibariTTS), ("piper-en_US-joe-medium", PiperTTS)])
def test_each_voice_speaks_a_reply_sentence_by_sentence_and_is_heard_right(models, model_settings, name, backend):
    entry = catalog.get_entry(name)
    catalog.pull([name], model_settings.models_dir, progress=False)
    tts = load_tts(entry, catalog.resolve(entry, model_settings.models_dir), "cpu")
    try:
        assert isinstance(tts, backend)
        chunks = list(tts.synthesize(REPLY))
        assert len(chunks) == 2 and all(c.dtype == np.int16 and len(c) > 0.5 * tts.sample_rate for c in chunks)
        assert list(tts.synthesize("  ")) == []
        for chunk in chunks:  # the reply is heard from its first chunk's first samples
            before, after = silence_around(chunk, tts.sample_rate)
            assert before <= LEAD_S + 0.01 and after <= TAIL_S + 0.01
        said = heard(models.asr, np.concatenate(chunks), tts.sample_rate)
        # Content words, not a WER bound: Piper's audio varies run to run and tiny.en hears its "France is"
        # as "Francis", its "legs" as "lugs" (bench/tts_voices.py measures each voice's WER).
        assert {"capital", "paris", "spider", "has"} <= set(normalize_text(said).split()), said
    finally:
        tts.close()
