"""The audio seam: real-time pacing, what counts as played, pause and stop."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from .harness import RecordingAudioOutput


def pcm(seconds: float, rate: int = 24000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


async def test_audio_plays_in_real_time_and_reports_what_left():
    output = RecordingAudioOutput()
    output.start_reply()
    started = time.monotonic()
    await output.push(pcm(0.5)[:-1])  # an odd byte waits for its partner
    await output.push(pcm(0.5)[-1:])
    assert await output.drain()
    elapsed = time.monotonic() - started
    assert 0.44 <= elapsed <= 0.7, elapsed
    assert output.played_samples == 12000 and output.first_audio_at - started < 0.05
    await output.aclose()


async def test_stop_silences_within_a_frame_and_counts_only_what_played():
    output = RecordingAudioOutput()
    output.start_reply()
    await output.push(pcm(2.0))
    await output.wait_played(24000 // 2)
    stopped_at = time.monotonic()
    played = output.stop()
    await asyncio.sleep(0.1)
    assert 11500 <= played <= 13000
    assert output.last_frame_at() <= stopped_at
    assert not await output.drain() and output.played_samples == played
    await output.aclose()


async def test_pause_holds_the_audio_and_resume_goes_on():
    output = RecordingAudioOutput()
    output.start_reply()
    await output.push(pcm(0.6))
    await output.wait_played(2400)
    output.pause()
    paused_at = time.monotonic()
    held = output.played_samples
    await asyncio.sleep(0.2)
    assert output.played_samples == held and output.last_frame_at() <= paused_at
    output.resume()
    assert await output.drain()
    assert output.played_samples == 14400
    await output.aclose()
