"""Audio plumbing of the embedded room: decoded browser audio in, one mix-minus track out per peer.

Each browser receives a single server track: the sum of everyone else (never itself). That
needs no renegotiation when people join or leave, costs each browser one stream whatever
the room size, and is where the assistant's voice will be mixed in (spoken-replies issue).
"""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from inference_server.protocol import SAMPLE_RATE as ASR_RATE

RTC_RATE = 48000  # Opus in WebRTC
FRAME_SAMPLES = RTC_RATE // 50  # 20 ms, the WebRTC audio packet time
_TIME_BASE = fractions.Fraction(1, RTC_RATE)


class MicrophoneConverter:
    """A participant's decoded audio -> mono 48 kHz int16 for the mix and 16 kHz PCM16 bytes for ASR.

    Channels are averaged here rather than by the resampler, whose stereo->mono matrix
    would add 3 dB to a browser's mono Opus stream (decoded as two equal channels).
    """

    def __init__(self) -> None:
        self._to_mix = av.AudioResampler(format="s16", layout="mono", rate=RTC_RATE)
        self._to_asr = av.AudioResampler(format="s16", layout="mono", rate=ASR_RATE)

    def convert(self, frame: av.AudioFrame) -> tuple[np.ndarray, bytes]:
        return self.convert_mono(self.to_mono(frame))

    def to_mono(self, frame: av.AudioFrame) -> np.ndarray:
        """A decoded frame (any layout, s16) as mono 48 kHz int16 samples."""
        mono = _mono_frame(frame)
        if mono.sample_rate == RTC_RATE:
            return mono.to_ndarray().reshape(-1)
        parts = [f.to_ndarray().reshape(-1) for f in self._to_mix.resample(mono)]
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    def convert_mono(self, mono48k: np.ndarray) -> tuple[np.ndarray, bytes]:
        frame = av.AudioFrame.from_ndarray(mono48k.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RTC_RATE
        asr = b"".join(bytes(f.planes[0])[: f.samples * 2] for f in self._to_asr.resample(frame))
        return mono48k, asr


def _mono_frame(frame: av.AudioFrame) -> av.AudioFrame:
    data = frame.to_ndarray()
    if frame.format.name not in ("s16", "s16p"):
        raise ValueError(f"unexpected decoded audio format {frame.format.name}")
    channels = len(frame.layout.channels)
    samples = data if frame.format.is_planar else data.reshape(-1, channels).T
    mono = samples.astype(np.int32).mean(axis=0).astype(np.int16) if channels > 1 else samples.reshape(-1)
    out = av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="s16", layout="mono")
    out.sample_rate = frame.sample_rate
    return out


def stereo_frame(mono: np.ndarray, pts: int) -> av.AudioFrame:
    """A 48 kHz frame with both channels equal: aiortc's Opus encoder is stereo, and upmixing
    mono through its resampler would cost 3 dB."""
    frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16", layout="stereo")
    frame.sample_rate = RTC_RATE
    frame.pts = pts
    frame.time_base = _TIME_BASE
    return frame


class _SourceBuffer:
    """One speaker's audio waiting to be mixed, with a small cushion against network jitter."""

    START_SAMPLES = 2 * FRAME_SAMPLES  # buffer 40 ms before playing (again)
    MAX_SAMPLES = 10 * FRAME_SAMPLES  # more than 200 ms behind: drop down to the cushion

    def __init__(self) -> None:
        self._data = np.zeros(0, np.int16)
        self._playing = False

    def push(self, samples: np.ndarray) -> None:
        self._data = np.concatenate([self._data, samples])
        if len(self._data) > self.MAX_SAMPLES:
            self._data = self._data[-self.START_SAMPLES:]

    def take(self, n: int) -> np.ndarray | None:
        if not self._playing and len(self._data) < self.START_SAMPLES:
            return None
        self._playing = len(self._data) >= n
        out, self._data = self._data[:n], self._data[n:]
        if len(out) < n:
            out = np.concatenate([out, np.zeros(n - len(out), np.int16)])
        return out


class MixMinusTrack(MediaStreamTrack):
    """The audio one peer hears: every other source summed, paced at 20 ms like a microphone."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._sources: dict[str, _SourceBuffer] = {}
        self._start: float | None = None
        self._pts = 0

    def push(self, source: str, samples: np.ndarray) -> None:
        self._sources.setdefault(source, _SourceBuffer()).push(samples)

    def remove(self, source: str) -> None:
        self._sources.pop(source, None)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            self._pts += FRAME_SAMPLES
            wait = self._start + self._pts / RTC_RATE - now
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -0.1:  # the loop stalled: carry on from now rather than burst to catch up
                self._start = now - self._pts / RTC_RATE
        mix = np.zeros(FRAME_SAMPLES, np.int32)
        for buffer in list(self._sources.values()):
            if (chunk := buffer.take(FRAME_SAMPLES)) is not None:
                mix += chunk
        return stereo_frame(np.clip(mix, -32768, 32767).astype(np.int16), self._pts)
