"""Smart Turn v3.2 on real read speech, its numpy features, and its place among the models."""

from __future__ import annotations

import numpy as np
import pytest

from bench.audio import librivox_clips
from bench.paused_speech import mid_sentence_cut
from inference_server.catalog import ModelError, get_entry, resolve
from inference_server.models.turn import SmartTurnONNX, last_window
from inference_server.models.whisper_features import compute_whisper_log_mel_features
from parley.settings import Settings


@pytest.fixture(scope="module")
def detector(model_settings: Settings) -> SmartTurnONNX:
    try:
        path = resolve(get_entry("smart-turn-v3.2"), model_settings.models_dir)
    except ModelError as exc:
        pytest.fail(f"{exc} (run `parley models pull`)", pytrace=False)
    return SmartTurnONNX("smart-turn-v3.2", str(path))


def test_a_finished_sentence_scores_higher_than_the_same_speech_cut_mid_sentence(detector):
    whole, cut = [], []
    for clip in librivox_clips():
        audio, head = mid_sentence_cut(clip)
        # The model is asked 0.2 s into the pause: both get the same trailing silence.
        pause = np.zeros(3200, np.float32)
        whole_p, cut_p = detector.end_of_turn([np.concatenate([audio, pause]), np.concatenate([head, pause])])
        whole.append(whole_p)
        cut.append(cut_p)
    ordered = sum(w > c for w, c in zip(whole, cut))
    assert ordered >= len(whole) - 1, (whole, cut)  # the published AUC is 0.72-0.86: one pair may flip
    assert np.mean(whole) - np.mean(cut) >= 0.15, (whole, cut)


def test_features_match_transformers_whisper_feature_extractor():
    transformers = pytest.importorskip("transformers")
    clip = librivox_clips()[0]
    from bench.audio import load_pcm16k

    audio = last_window(load_pcm16k(clip.path), 8 * 16000)
    reference = transformers.WhisperFeatureExtractor(chunk_length=8)(
        audio, sampling_rate=16000, padding="max_length", max_length=128000, truncation=True,
        do_normalize=True, return_tensors="np").input_features[0]
    ours = compute_whisper_log_mel_features(audio)
    assert ours.shape == reference.shape == (80, 800)
    assert np.abs(ours - reference).max() < 1e-3


def test_the_window_keeps_the_end_of_a_long_turn_and_pads_a_short_one_in_front():
    long = np.arange(10 * 16000, dtype=np.float32)
    assert np.array_equal(last_window(long, 8 * 16000), long[-8 * 16000:])
    short = np.ones(100, np.float32)
    padded = last_window(short, 8 * 16000)
    assert len(padded) == 8 * 16000 and padded[-100:].all() and not padded[:-100].any()


def test_a_turn_longer_than_the_window_is_still_scored(detector):
    clips = [librivox_clips()[i] for i in range(2)]
    from bench.audio import load_pcm16k

    long = np.concatenate([load_pcm16k(c.path) for c in clips] + [np.zeros(3200, np.float32)])
    assert len(long) > 8 * 16000
    [p] = detector.end_of_turn([long])
    assert 0.0 <= p <= 1.0


def test_bad_audio_is_refused(detector):
    with pytest.raises(ValueError):
        detector.end_of_turn([np.zeros(0, np.float32)])
