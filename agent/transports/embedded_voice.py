"""The assistant's voice in an embedded room: 20 ms frames mixed into every peer's mix-minus track.

The engine's `PacedAudioOutput` keeps the real-time clock, so the assistant is just one more
source in each mix, like a microphone. Stopping also drops what each mix holds of it (its
jitter cushion), so a barge-in silences the room within a frame or two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import av
import numpy as np

from ..conversation.audio_output import PacedAudioOutput
from .embedded_audio import RTC_RATE

if TYPE_CHECKING:
    from .embedded import EmbeddedRoom

SOURCE = "assistant"  # the mix-minus source name of the assistant's voice


class EmbeddedVoiceOutput(PacedAudioOutput):
    def __init__(self, room: EmbeddedRoom) -> None:
        super().__init__()
        self._room = room
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=RTC_RATE)

    def _emit_impl(self, frame: np.ndarray) -> None:
        mono = av.AudioFrame.from_ndarray(frame.reshape(1, -1), format="s16", layout="mono")
        mono.sample_rate = self.sample_rate
        parts = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(mono)]
        if not parts:
            return
        samples = np.concatenate(parts)
        for session in self._room.sessions:
            if session.present:
                session.outbound.push(SOURCE, samples)

    def _clear_sink_impl(self) -> None:
        for session in self._room.sessions:
            session.outbound.remove(SOURCE)
