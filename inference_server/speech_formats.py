"""Speech output formats of `/v1/audio/speech`, as OpenAI serves them.

`pcm` (24 kHz s16le) and the compressed formats (mp3, Ogg Opus, FLAC, encoded by PyAV) are
streamed chunk by chunk as the voice is synthesized; `wav` is a file with honest sizes in
its header, so it is sent whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np

from .protocol import TTS_SAMPLE_RATE


@dataclass(frozen=True)
class Format:
    media_type: str
    container: str | None = None  # PyAV muxer, None for raw PCM / WAV
    codec: str | None = None
    rate: int | None = None  # None: the voice's own rate


FORMATS = {
    "pcm": Format("audio/pcm", rate=TTS_SAMPLE_RATE),
    "wav": Format("audio/wav"),
    "mp3": Format("audio/mpeg", "mp3", "libmp3lame", TTS_SAMPLE_RATE),
    "opus": Format("audio/ogg", "ogg", "libopus", 48000),
    "flac": Format("audio/flac", "flac", "flac"),
}
MEDIA_TYPES = sorted({f.media_type for f in FORMATS.values()})


def resample(pcm16: np.ndarray, rate: int, out_rate: int) -> np.ndarray:
    if rate == out_rate:
        return pcm16.astype(np.int16)
    from scipy.signal import resample_poly

    g = gcd(rate, out_rate)
    out = resample_poly(pcm16.astype(np.float32), out_rate // g, rate // g)
    return np.clip(out, -32768, 32767).astype(np.int16)


class _Sink:
    """A write-only, unseekable output: muxers then write each byte once, in order (the mp3
    and FLAC muxers would otherwise seek back at the end to patch a header already sent)."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pieces.append(bytes(data))
        return len(data)


class Encoder:
    """Encodes PCM16 chunks into one compressed stream; `encode` returns the bytes ready so far."""

    def __init__(self, fmt: Format, rate: int) -> None:
        import av

        self._sink = _Sink()
        self._container = av.open(self._sink, mode="w", format=fmt.container)
        self._stream = self._container.add_stream(fmt.codec, rate=rate)
        self._stream.layout = "mono"
        self._rate = rate
        self._pts = 0

    def encode(self, pcm16: np.ndarray) -> bytes:
        import av

        frame = av.AudioFrame.from_ndarray(pcm16.astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts = self._rate, self._pts
        self._pts += len(pcm16)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        return self._drain()

    def finish(self) -> bytes:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return self._drain()

    def _drain(self) -> bytes:
        data = b"".join(self._sink.pieces)
        self._sink.pieces.clear()
        return data
