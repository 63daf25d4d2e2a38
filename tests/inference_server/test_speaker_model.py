"""The default speaker model: real voices told apart on its own scale, odd input harmless."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.audio import LIBRIVOX_DIR, load_pcm16k

CARDS_DIR = Path("/usr/share/pocketsphinx/test/data/cards")


def test_two_stretches_of_one_real_reader_match_and_another_real_voice_does_not(models):
    speaker = models.speaker
    reader = [load_pcm16k(LIBRIVOX_DIR / f"sense_and_sensibility_01_austen_64kb-{n}.wav") for n in ("0870", "0890")]
    cards = np.concatenate([load_pcm16k(CARDS_DIR / f"{n}.wav") for n in ("001", "002")])
    first, second, other = speaker.embed([reader[0], reader[1], cards])
    assert float(first @ second) >= speaker.similarity.same_speaker
    assert float(first @ other) < speaker.similarity.same_speaker
    assert float(second @ other) < speaker.similarity.same_speaker


def test_silence_a_clipped_signal_and_noise_give_unit_vectors_and_a_blip_gives_none(models):
    rng = np.random.default_rng(0)
    odd = [np.zeros(24000, np.float32), np.ones(24000, np.float32), rng.normal(size=24000).astype(np.float32)]
    for vector in models.speaker.embed(odd):
        assert vector is not None and np.isfinite(vector).all() and abs(np.linalg.norm(vector) - 1) < 1e-4
    assert models.speaker.embed([np.zeros(3000, np.float32)]) == [None]  # 0.19 s: too little voice
