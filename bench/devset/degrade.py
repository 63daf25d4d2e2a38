"""Channel conditions a clip is heard through: telephone band, an Opus round trip."""

from __future__ import annotations

import numpy as np

from bench.audio import pcm16_array, resample

SAMPLE_RATE = 16000
_OPUS_RATE = 48000
_OPUS_FRAME = 960  # 20 ms, what WebRTC sends


def telephone(samples: np.ndarray) -> np.ndarray:
    """Through an 8 kHz line and back: nothing above 4 kHz, nothing below ~300 Hz."""
    from scipy.signal import butter, sosfiltfilt

    narrow = resample(samples, SAMPLE_RATE, 8000)
    narrow = sosfiltfilt(butter(4, 300, "highpass", fs=8000, output="sos"), narrow).astype(np.float32)
    return resample(narrow, 8000, SAMPLE_RATE)


def opus_round_trip(samples: np.ndarray, bitrate: int) -> np.ndarray:
    """Encode with libopus (PyAV) at `bitrate` bits/s in 20 ms frames, decode, back to 16 kHz."""
    import av

    pcm = pcm16_array(resample(samples, SAMPLE_RATE, _OPUS_RATE))
    pcm = np.concatenate([pcm, np.zeros(-len(pcm) % _OPUS_FRAME + _OPUS_FRAME, np.int16)])
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = _OPUS_RATE, "mono", "s16"
    encoder.bit_rate = bitrate
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate, decoder.layout = _OPUS_RATE, "mono"
    out: list[np.ndarray] = []

    def decode(packets) -> None:
        for packet in packets:
            for frame in decoder.decode(packet):
                out.append(frame.to_ndarray().reshape(-1).astype(np.float32) / (32768.0 if frame.format.name.startswith("s16") else 1.0))

    for i in range(0, len(pcm), _OPUS_FRAME):
        frame = av.AudioFrame.from_ndarray(pcm[i:i + _OPUS_FRAME].reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = _OPUS_RATE
        frame.pts = i
        decode(encoder.encode(frame))
    decode(encoder.encode(None))
    decoded = resample(np.concatenate(out), _OPUS_RATE, SAMPLE_RATE)
    return _aligned(decoded, samples)


def _aligned(decoded: np.ndarray, original: np.ndarray, max_lag_s: float = 0.05) -> np.ndarray:
    """`decoded` shifted onto `original` (the codec's delay depends on its mode) and cut to length."""
    from scipy.signal import correlate, correlation_lags

    scores = correlate(decoded, original, mode="full", method="fft")
    lags = correlation_lags(len(decoded), len(original), mode="full")
    window = np.abs(lags) <= int(max_lag_s * SAMPLE_RATE)
    lag = int(lags[window][np.argmax(scores[window])])
    shifted = decoded[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag, np.float32), decoded])
    return np.concatenate([shifted, np.zeros(max(0, len(original) - len(shifted)), np.float32)])[:len(original)]
