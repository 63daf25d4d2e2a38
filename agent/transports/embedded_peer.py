"""One browser in an embedded room: its RTCPeerConnection, data channel, microphone and mix-minus track."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from pydantic import ValidationError

from ..events import ClientMessage, ParticipantInfo, client_message_adapter
from .base import AudioStream
from .embedded_audio import MicrophoneConverter, MixMinusTrack
from .embedded_metrics import INCOMING_AUDIO
from .embedded_receive import ConcealingAudioReceiver, ReceiveStats

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
        self.receive_stats = ReceiveStats()
        INCOMING_AUDIO.track(room.room, info.id, self.receive_stats)
        self._converter = MicrophoneConverter()
        self.created = room.clock()
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
        install_concealing_receivers(self.pc, self._on_audio, self.receive_stats)
        self.pc.addTrack(self.outbound)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return ask_for_opus_fec(self.pc.localDescription.sdp)

    def send(self, payload: str) -> None:
        channel = self._channel
        if channel is None or channel.readyState == "connecting":
            if len(self._queued) < MAX_QUEUED_MESSAGES:
                self._queued.append(payload)
        elif channel.readyState == "open":
            channel.send(payload)

    async def close(self) -> None:
        self.closed = True
        INCOMING_AUDIO.untrack(self.room.room, self.info.id)
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

    def _on_audio(self, mono48k) -> None:
        """Decoded microphone audio, gaps concealed, straight from the RTP packets (on the loop)."""
        self.last_seen = self.room.clock()
        mix, pcm16k = self._converter.convert_mono(mono48k)
        self.audio.push(pcm16k)
        if self.present:
            self.room.mix_from(self, mix)

    async def _consume(self, track: MediaStreamTrack) -> None:
        """Waits for the track's end; its frames come through `_on_audio` (aiortc's decoder gets none)."""
        try:
            while True:
                frame = await track.recv()  # only if aiortc's receiver could not be replaced
                self._on_audio(self._converter.to_mono(frame))
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
        self.last_seen = self.room.clock()
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


def install_concealing_receivers(pc: RTCPeerConnection, on_audio: Callable[[np.ndarray], None],
                                 stats: ReceiveStats) -> bool:
    """Puts a ConcealingAudioReceiver where aiortc's audio receiver keeps its jitter buffer.

    Private attribute: if aiortc renames it, this logs and returns False, and audio keeps
    flowing through aiortc's own (lossy, unconcealed) path.
    """
    installed = False
    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        if transceiver.kind != "audio":
            continue
        if not hasattr(receiver, _JITTER_BUFFER):
            log.warning("aiortc's audio jitter buffer moved; incoming audio loss will not be concealed")
            return False
        setattr(receiver, _JITTER_BUFFER, ConcealingAudioReceiver(on_audio, stats))
        installed = True
    return installed


_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_OPUS_RTPMAP = re.compile(r"^a=rtpmap:(\d+) opus/48000", re.IGNORECASE | re.MULTILINE)


def ask_for_opus_fec(sdp: str) -> str:
    """Adds `useinbandfec=1` to the answer's Opus format: browsers then send each frame's
    redundant low-bitrate copy in the next packet, which the receiver uses to rebuild a lost one."""
    match = _OPUS_RTPMAP.search(sdp)
    if match is None:
        return sdp
    pt = match.group(1)
    fmtp = re.search(rf"^a=fmtp:{pt} (.*?)\r?$", sdp, re.MULTILINE)
    if fmtp is None:
        end = match.end() + len(sdp[match.end():].split("\n", 1)[0]) + 1
        return sdp[:end] + f"a=fmtp:{pt} useinbandfec=1\r\n" + sdp[end:]
    if "useinbandfec" in fmtp.group(1):
        return sdp
    return sdp[:fmtp.end(1)] + ";useinbandfec=1" + sdp[fmtp.end(1):]
