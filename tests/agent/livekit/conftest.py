"""The session's shared inference server (tests/conftest.py), warmed, for the LiveKit plugin, session and
transport tests."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from bench.audio import PIPER_JOE, pcm16_bytes, render_turn
from inference_server.client import InferenceClient
from inference_server.protocol import StreamConfig


@pytest.fixture(scope="session")
async def warm_inference(inference_url: str) -> str:
    """A fresh server's first decodes are slow (~2 s for the first final): pay for them here."""
    phrase = render_turn(PIPER_JOE, "Warming up the models.")
    async with InferenceClient(inference_url) as client:
        await client.transcribe(wav_bytes(phrase))
        async with client.stream(StreamConfig()) as stream:
            for start in range(0, len(phrase) + 16000, 1600):
                await stream.send_audio(pcm16_bytes(np.concatenate([phrase, np.zeros(16000)])[start:start + 1600]))
            await stream.end()
            _ = [event async for event in stream]
    return inference_url


@pytest.fixture
async def client(warm_inference: str):
    async with InferenceClient(warm_inference) as inference:
        yield inference


def wav_bytes(samples: np.ndarray, sample_rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm16_bytes(samples))
    return out.getvalue()
