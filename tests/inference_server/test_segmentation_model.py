"""The real segmentation model (pyannote segmentation-3.0) on the real phone call: where the voice
changes and where the two women speak at once, against the call's reference turns."""

from __future__ import annotations

import numpy as np
import pytest

from bench.devset.sources import pyannote_call
from inference_server.catalog import get_entry, resolve
from inference_server.models.segmentation import PyannoteSegmentationONNX
from inference_server.protocol import SAMPLE_RATE
from inference_server.speaker_activity import STEP_S, ActivityAccumulator, window_starts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model(model_settings):
    return PyannoteSegmentationONNX("pyannote-segmentation-3.0",
                                    str(resolve(get_entry("pyannote-segmentation-3.0"), model_settings.models_dir)))


@pytest.fixture(scope="module")
def call(model):
    audio, turns = pyannote_call()
    accumulator = ActivityAccumulator(len(audio), model.frame_step, model.frame_size)
    for start in window_starts(len(audio), model.window, int(STEP_S * SAMPLE_RATE)):
        accumulator.add(start, model.segment(audio[start:start + model.window]))
    return accumulator.result(), sorted(turns, key=lambda t: t.start)


def test_the_voice_changes_of_a_real_call_are_found_near_where_they_happen(call):
    activity, turns = call
    changes = [later.start for earlier, later in zip(turns, turns[1:]) if earlier.speaker != later.speaker]
    found = np.array(activity.changes) / SAMPLE_RATE
    near = [min(abs(found - t)) <= 0.5 for t in changes]
    assert sum(near) >= 5, (changes, found)  # measured 6 of 8 (the other two within 0.7 s)
    far = [t for t in found if min(abs(np.array(changes) - t)) > 1.0]
    assert len(far) <= 1, (changes, found)  # measured 1 (21.8 s, inside Sheila's long turn)


def test_where_the_two_women_speak_at_once_is_found(call):
    activity, turns = call
    both = [(max(a.start, b.start), min(a.end, b.end)) for i, a in enumerate(turns) for b in turns[i + 1:]
            if a.speaker != b.speaker and b.start < a.end and a.start < b.end]
    found = [(begin / SAMPLE_RATE, end / SAMPLE_RATE) for begin, end in activity.overlapped(0, 30 * SAMPLE_RATE, 1600)]
    assert found and all(any(b < stop and begin < e for b, e in both) for begin, stop in found), (both, found)
    longer = [(b, e) for b, e in both if e - b >= 0.2]
    assert sum(any(b < stop and begin < e for begin, stop in found) for b, e in longer) >= 3  # measured 4 of 4


@pytest.mark.parametrize("audio", [np.zeros(0, np.float32), np.zeros((2, 16000), np.float32),
                                   np.zeros(11 * SAMPLE_RATE, np.float32)], ids=["empty", "stereo", "too long"])
def test_audio_it_cannot_take_is_a_clear_error(model, audio):
    with pytest.raises(ValueError, match="segmentation audio"):
        model.segment(audio)


def test_a_short_window_gives_frames_for_its_length_only(model):
    second = np.zeros(SAMPLE_RATE, np.float32)
    activity = model.segment(second)
    assert activity.shape == (model.frames(SAMPLE_RATE), model.local_speakers) and not activity.any()
