"""The paused-turn set: real speech with a pause inserted between words, not inside one."""

from __future__ import annotations

import numpy as np

from bench.audio import librivox_clips, load_pcm16k
from bench.paused_speech import PAUSES_S, paused_turns, word_boundary


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio ** 2)))


def test_the_pause_goes_where_the_speech_is_quietest_between_words():
    for clip in librivox_clips():
        audio = load_pcm16k(clip.path)
        at = int(word_boundary(audio) * 16000)
        around = audio[at - 160:at + 160]  # 20 ms either side
        assert _rms(around) < 0.25 * _rms(audio), clip.name
        assert 0.3 * len(audio) < at < 0.75 * len(audio), "near the middle: mid-sentence"


def test_paused_turns_keep_all_the_speech_and_add_the_pause():
    turns = [t for t in paused_turns() if t.name.startswith("librivox")]
    assert len(turns) == len(librivox_clips())
    for turn, clip in zip(turns, librivox_clips()):
        original = load_pcm16k(clip.path)
        assert turn.pause_s in PAUSES_S
        assert len(turn.audio) == len(original) + int(turn.pause_s * 16000)
        at = int(turn.pause_at * 16000)
        assert not turn.audio[at:at + int(turn.pause_s * 16000)].any()
