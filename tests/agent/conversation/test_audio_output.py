"""The audio seam: pacing, what counts as played, pause and stop. In virtual time: exact."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from agent.conversation.events import now
from tests.virtual_time import run

from .harness import RecordingAudioOutput

FRAME_S = 0.02


def pcm(seconds: float, rate: int = 24000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


def test_audio_plays_in_real_time_and_reports_what_left():
    async def scenario():
        output = RecordingAudioOutput()
        output.start_reply()
        started = now()
        await output.push(pcm(0.5)[:-1])  # an odd byte waits for its partner
        await output.push(pcm(0.5)[-1:])
        assert await output.drain()
        assert [at - started for at, _ in output.frames] == pytest.approx([i * FRAME_S for i in range(25)])
        assert now() - started == pytest.approx(0.48), "drained as the last frame left"
        assert output.played_samples == 12000 and output.first_audio_at == started
        await output.aclose()

    run(scenario())


def test_stop_silences_within_a_frame_and_counts_only_what_played():
    async def scenario():
        output = RecordingAudioOutput()
        output.start_reply()
        await output.push(pcm(2.0))
        await output.wait_played(24000 // 2)
        stopped_at = now()
        played = output.stop()
        await asyncio.sleep(0.1)
        assert played == 12000 and output.last_frame_at() <= stopped_at
        assert not await output.drain() and output.played_samples == played
        await output.aclose()

    run(scenario())


def test_pause_holds_the_audio_and_resume_goes_on():
    async def scenario():
        output = RecordingAudioOutput()
        output.start_reply()
        await output.push(pcm(0.6))
        await output.wait_played(2400)
        output.pause()
        paused_at = now()
        held = output.played_samples
        await asyncio.sleep(0.2)
        assert output.played_samples == held and output.last_frame_at() <= paused_at
        output.resume()
        assert await output.drain()
        assert output.played_samples == 14400
        resumed = [at for at, _ in output.frames if at > paused_at]
        assert resumed[0] == pytest.approx(paused_at + 0.2), "on again at once"
        await output.aclose()

    run(scenario())
