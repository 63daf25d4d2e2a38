"""Browser audio in (any layout, held briefly) and the mix-minus track out."""

from __future__ import annotations

import fractions
import time

import av
import numpy as np

from agent.transports.embedded_audio import (
    FRAME_SAMPLES,
    RTC_RATE,
    MicrophoneConverter,
    MixMinusTrack,
)


def opus_like_frame(mono: np.ndarray, pts: int = 0) -> av.AudioFrame:
    """What aiortc's Opus decoder hands over: packed stereo s16 at 48 kHz."""
    frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16", layout="stereo")
    frame.sample_rate, frame.pts, frame.time_base = RTC_RATE, pts, fractions.Fraction(1, RTC_RATE)
    return frame


def tone(samples: int, amplitude: float = 0.25, hz: float = 440.0, start: int = 0) -> np.ndarray:
    t = np.arange(start, start + samples) / RTC_RATE
    return np.round(np.sin(2 * np.pi * hz * t) * amplitude * 32767).astype(np.int16)


def test_browser_audio_becomes_mono_48k_for_the_mix_and_16k_pcm16_for_captions_at_the_same_level():
    converter = MicrophoneConverter()
    mix, asr = [], b""
    for i in range(50):  # one second
        m, a = converter.convert(opus_like_frame(tone(FRAME_SAMPLES, start=i * FRAME_SAMPLES), i * FRAME_SAMPLES))
        mix.append(m)
        asr += a
    mix = np.concatenate(mix)
    speech = np.frombuffer(asr, "<i2")
    assert len(mix) == RTC_RATE
    assert abs(len(speech) - 16000) < 160  # the resampler may hold back a few ms
    rms = lambda x: float(np.sqrt(np.mean((x / 32768.0) ** 2)))
    assert abs(rms(mix) - 0.25 / np.sqrt(2)) < 0.01
    assert abs(rms(speech[800:]) - 0.25 / np.sqrt(2)) < 0.02


async def test_mix_minus_sums_the_sources_it_is_given_and_paces_like_a_microphone():
    track = MixMinusTrack()
    a, b = tone(4 * FRAME_SAMPLES, 0.2, 300), tone(4 * FRAME_SAMPLES, 0.2, 500)
    track.push("a", a)
    track.push("b", b)
    started = time.monotonic()
    frames = [await track.recv() for _ in range(4)]
    elapsed = time.monotonic() - started
    mixed = np.concatenate([f.to_ndarray().reshape(-1, 2)[:, 0] for f in frames])
    assert np.array_equal(mixed, (a.astype(np.int32) + b).astype(np.int16))
    assert frames[0].layout.name == "stereo" and frames[0].sample_rate == RTC_RATE
    assert elapsed >= 0.05  # 3 waits of 20 ms after the first frame (how late it may be is not asserted)
    track.stop()


async def test_mix_minus_waits_for_a_jitter_cushion_clips_instead_of_wrapping_and_forgets_removed_sources():
    track = MixMinusTrack()
    track.push("a", np.full(FRAME_SAMPLES, 30000, np.int16))  # 20 ms: less than the 40 ms cushion
    assert not (await track.recv()).to_ndarray().any()
    track.push("a", np.full(FRAME_SAMPLES, 30000, np.int16))
    track.push("b", np.full(2 * FRAME_SAMPLES, 30000, np.int16))
    assert (await track.recv()).to_ndarray().min() == 32767
    track.remove("a")
    track.remove("b")
    assert not (await track.recv()).to_ndarray().any()
    track.stop()
