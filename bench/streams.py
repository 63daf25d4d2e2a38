"""Feed audio to a live transcription stream and collect what comes back."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np

from bench.audio import pcm16_bytes
from inference_server.client import InferenceClient
from inference_server.protocol import SAMPLE_RATE, Final, Interim, StreamConfig, StreamEvent


@dataclass
class StreamRun:
    events: list[StreamEvent] = field(default_factory=list)
    # When each event came, in seconds of stream audio: for paced runs the audio clock
    # (wall time x speed, which keeps running after the last chunk); unpaced, audio sent so far.
    arrival: list[float] = field(default_factory=list)
    close_code: int | None = None

    @property
    def finals(self) -> list[Final]:
        return [e for e in self.events if isinstance(e, Final)]

    @property
    def interims(self) -> list[Interim]:
        return [e for e in self.events if isinstance(e, Interim)]

    @property
    def text(self) -> str:
        return " ".join(f.text for f in self.finals)

    def types(self) -> list[str]:
        return [e.type for e in self.events]


async def stream_audio(url: str, samples: np.ndarray, *, speed: float | None = 1.0, chunk_ms: int = 40,
                       config: StreamConfig | None = None, token: str | None = None) -> StreamRun:
    """Send `samples` in chunks (paced at `speed` x real time; None = as fast as possible)."""
    run = StreamRun()
    sent_s = 0.0
    started = time.monotonic()
    async with InferenceClient(url, token=token) as client, client.stream(config) as stream:
        async def receive() -> None:
            async for event in stream:
                run.events.append(event)
                run.arrival.append((time.monotonic() - started) * speed if speed else sent_s)

        receiver = asyncio.create_task(receive())
        data = pcm16_bytes(samples)
        step = 2 * SAMPLE_RATE * chunk_ms // 1000
        for offset in range(0, len(data), step):
            await stream.send_audio(data[offset:offset + step])
            sent_s = (offset + step) / 2 / SAMPLE_RATE
            if speed:
                await asyncio.sleep(max(0.0, started + sent_s / speed - time.monotonic()))
        await stream.end()
        await asyncio.wait_for(receiver, 120)
        run.close_code = stream.close_code
    return run
