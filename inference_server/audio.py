"""Decode uploaded audio (any container/codec PyAV knows) to 16 kHz mono float32."""

from __future__ import annotations

import io
import wave

import numpy as np

from .protocol import SAMPLE_RATE


class AudioError(ValueError):
    """The audio cannot be used; the message says why, for the client."""


class AudioTooLong(AudioError):
    """The audio runs past the configured maximum; decoding stopped there."""


def decode_audio(data: bytes, *, max_seconds: float | None = None, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode frame by frame and stop as soon as the audio passes `max_seconds`: a small file
    holding hours of (compressible) audio costs no more than the limit. Blocking: run it off
    the event loop."""
    if not data:
        raise AudioError("the audio file is empty")
    import av

    limit = int(max_seconds * sample_rate) if max_seconds is not None else None
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise AudioError("the file has no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
            pieces, decoded = [], 0
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    pieces.append(out.to_ndarray().reshape(-1))
                    decoded += len(pieces[-1])
                if limit is not None and decoded > limit:
                    raise AudioTooLong(f"the audio is longer than the {max_seconds:g} s limit (PARLEY_MAX_AUDIO_S)")
            for out in resampler.resample(None):
                pieces.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except (av.error.FFmpegError, ValueError, IndexError) as exc:
        raise AudioError(f"could not decode the audio file ({type(exc).__name__}): "
                         "send WAV, FLAC, MP3, OGG/Opus, M4A or WebM audio") from None
    if not pieces:
        raise AudioError("the audio file contains no samples")
    samples = np.concatenate(pieces).astype(np.float32) / 32768.0
    if limit is not None and len(samples) > limit:
        raise AudioTooLong(f"the audio is longer than the {max_seconds:g} s limit (PARLEY_MAX_AUDIO_S)")
    if len(samples) < sample_rate // 10:
        raise AudioError("the audio is shorter than 0.1 s")
    return samples


def encode_wav(pcm16: np.ndarray, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm16.astype("<i2").tobytes())
    return buffer.getvalue()

