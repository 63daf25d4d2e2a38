"""One browser in an embedded room: its RTCPeerConnection, data channel, microphone and mix-minus track."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from pydantic import ValidationError

from ..events import ClientMessage, ParticipantInfo, client_message_adapter
from .base import AudioStream
from .embedded_audio import MicrophoneConverter, MixMinusTrack

if TYPE_CHECKING:
    from .embedded import EmbeddedRoom

log = logging.getLogger(__name__)

MAX_QUEUED_MESSAGES = 500  # events waiting for the data channel to open


class PeerSession:
    def __init__(self, room: EmbeddedRoom, info: ParticipantInfo, configuration: RTCConfiguration) -> None:
        self.room = room
        self.info = info
        self.pc = RTCPeerConnection(configuration)
        self.outbound = MixMinusTrack()
        self.audio = AudioStream()
        self.created = time.monotonic()
        self.last_seen = self.created
        self.present = False  # connected, data channel open, announced to the room
        self.closed = False
        self._channel: RTCDataChannel | None = None
        self._queued: list[str] = []
        self._mic: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()  # strong references to callbacks in flight
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_datachannel)
        self.pc.on("connectionstatechange", self._on_connection_state)

    async def answer(self, offer_sdp: str) -> str:
        """Apply the browser's offer; returns the answer, ICE candidates included (no trickle)."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        _shorten_audio_jitter_buffers(self.pc)
        self.pc.addTrack(self.outbound)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def send(self, payload: str) -> None:
        channel = self._channel
        if channel is None or channel.readyState == "connecting":
            if len(self._queued) < MAX_QUEUED_MESSAGES:
                self._queued.append(payload)
        elif channel.readyState == "open":
            channel.send(payload)

    async def close(self) -> None:
        self.closed = True
        self.audio.close()
        self.outbound.stop()
        if self._mic is not None:
            self._mic.cancel()
        await self.pc.close()

    # --- aiortc events ------------------------------------------------------------------------

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and self._mic is None:  # one microphone per peer
            self._mic = asyncio.create_task(self._consume(track), name=f"mic-{self.info.id}")

    async def _consume(self, track: MediaStreamTrack) -> None:
        converter = MicrophoneConverter()
        try:
            while True:
                frame = await track.recv()
                self.last_seen = time.monotonic()
                mono48k, pcm16k = converter.convert(frame)
                self.audio.push(pcm16k)
                if self.present:
                    self.room.mix_from(self, mono48k)
        except MediaStreamError:
            pass  # the track ended: the peer hung up or the connection closed
        finally:
            self.audio.close()

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if self._channel is not None:
            return  # one channel per peer carries every room event
        self._channel = channel
        channel.on("message", self._on_message)
        channel.on("close", lambda: self._spawn(self.room.drop(self, "left")))
        for payload in self._queued:
            channel.send(payload)
        self._queued.clear()
        self._spawn(self.room.announce(self))

    def _on_message(self, raw: str | bytes) -> None:
        self.last_seen = time.monotonic()
        try:
            message: ClientMessage = client_message_adapter.validate_json(raw)
        except ValidationError:
            log.info("ignoring a malformed data channel message from %s", self.info.id)
            return
        self._spawn(self.room.client_message(self, message))

    async def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        if state in ("failed", "closed"):
            await self.room.drop(self, "failed" if state == "failed" else "left")


def _shorten_audio_jitter_buffers(pc: RTCPeerConnection) -> None:
    """aiortc holds each incoming audio packet until 4 more have arrived (80 ms), yet still
    stops at the first gap; holding one keeps its loss handling and gives captions and the
    mix 60 ms back. Private attribute: if aiortc renames it, this is a logged no-op."""
    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        if transceiver.kind != "audio":
            continue
        if not hasattr(receiver, "_RTCRtpReceiver__jitter_buffer"):
            log.warning("aiortc's audio jitter buffer moved; keeping its default 80 ms prefetch")
            return
        receiver._RTCRtpReceiver__jitter_buffer = JitterBuffer(capacity=16, prefetch=1)
