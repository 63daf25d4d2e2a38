"""A pure-Python WebRTC participant (aiortc) for tests and benchmarks.

It joins a Parley room the way the page does (HTTP offer/answer, one data channel), plays
a WAV file as its microphone in real time, and records every room event with its arrival
time and the loudness of the audio it hears.

    PARLEY_ADMIN_PASSWORD=… python -m bench.room_client --url http://127.0.0.1:8000 --room demo --name Ann --audio a.wav
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av
import httpx
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from agent.transports.embedded_audio import stereo_frame
from agent.transports.loopback_ice import use_loopback_candidates_only
from bench.audio import load_pcm16k
from bench.room_access import AccessFailed, Account, fetch_join_token

RTC_RATE = 48000
FRAME = RTC_RATE // 50  # 20 ms


class JoinFailed(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message = status, message


class WavMicrophone(MediaStreamTrack):
    """Audio played as a live microphone: 20 ms frames in real time, then silence forever.

    `started_at` is the monotonic time of the file's first sample, so sample k was
    "spoken" at started_at + k / 48000; `finished` is set once the last sample went out.
    """

    kind = "audio"

    def __init__(self, audio: Path | np.ndarray | None = None) -> None:
        super().__init__()
        if isinstance(audio, Path):
            audio = load_pcm16k(audio, RTC_RATE)
        samples = np.zeros(0, np.float32) if audio is None else np.asarray(audio, np.float32)
        self._pcm = np.round(np.clip(samples, -1, 1) * 32767).astype(np.int16)
        self._pts = 0
        self.started_at: float | None = None
        self.finished = asyncio.Event()

    def say(self, audio: np.ndarray) -> float:
        """Queue more audio (float, 48 kHz) after what is playing; returns when it starts,
        in seconds on this track's timeline (0 = `started_at`)."""
        start = max(len(self._pcm), self._pts + FRAME)
        pcm = np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)
        self._pcm = np.concatenate([self._pcm, np.zeros(start - len(self._pcm), np.int16), pcm])
        self.finished.clear()
        return start / RTC_RATE

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.started_at is None:
            self.started_at = time.monotonic()
        else:
            self._pts += FRAME
            wait = self.started_at + self._pts / RTC_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        chunk = self._pcm[self._pts:self._pts + FRAME]
        if len(chunk) < FRAME:
            self.finished.set()
            chunk = np.concatenate([chunk, np.zeros(FRAME - len(chunk), np.int16)])
        return stereo_frame(chunk, self._pts)


@dataclass
class Received:
    at: float  # time.monotonic() on arrival
    event: dict


@dataclass
class RoomClient:
    url: str
    room: str
    name: str
    audio: Path | np.ndarray | None = None
    loopback_ice: bool = True  # client and server on one host: stay on 127.0.0.1
    events: list[Received] = field(default_factory=list)
    heard: list[tuple[float, float]] = field(default_factory=list)  # (time, RMS of a received 20 ms frame)
    participant_id: str | None = None
    account: Account | None = None  # who signs in for the join token; default Account.from_env()

    def __post_init__(self) -> None:
        if self.loopback_ice:
            use_loopback_candidates_only()
        self.microphone = WavMicrophone(self.audio)
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel = self.pc.createDataChannel("parley")
        self._changed = asyncio.Condition()
        self._listener: asyncio.Task | None = None
        self.channel.on("message", self._on_message)
        self.pc.on("track", self._on_track)

    async def join(self, timeout: float = 20.0) -> dict:
        """Sign in for a join token, offer, answer, and wait for the room's welcome; raises
        JoinFailed on a 4xx/5xx."""
        try:
            token = await self.join_token()
        except AccessFailed as exc:
            await self.pc.close()
            raise JoinFailed(exc.status, exc.message) from None
        self.pc.addTrack(self.microphone)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            response = await http.post(f"/api/rooms/{self.room}/join",
                                       json={"token": token, "sdp": self.pc.localDescription.sdp, "type": "offer"})
        if response.status_code != 201:
            await self.pc.close()
            raise JoinFailed(response.status_code, response.json()["error"]["message"])
        body = response.json()
        self.participant_id = body["participant"]["id"]
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type="answer"))
        return (await self.wait_for(lambda e: e["type"] == "welcome", timeout)).event

    async def join_token(self) -> str:
        return await fetch_join_token(self.url, self.room, self.name, self.account or Account.from_env())

    def send(self, message: dict) -> None:
        self.channel.send(json.dumps(message))

    async def leave(self) -> None:
        if self.channel.readyState == "open":
            self.send({"type": "leave"})
            await asyncio.sleep(0.1)
        await self.close()

    async def close(self) -> None:
        self.microphone.stop()
        await self.pc.close()
        if self._listener:
            self._listener.cancel()

    async def wait_for(self, predicate: Callable[[dict], bool], timeout: float) -> Received:
        """The first event so far, or arriving within `timeout`, that satisfies `predicate`."""
        async with self._changed:
            found = await asyncio.wait_for(self._changed.wait_for(lambda: self._first(predicate)), timeout)
        return found

    def _first(self, predicate: Callable[[dict], bool]) -> Received | None:
        return next((r for r in self.events if predicate(r.event)), None)

    def of_type(self, *types: str) -> list[Received]:
        return [r for r in self.events if r.event["type"] in types]

    def _on_message(self, raw: str) -> None:
        self.events.append(Received(time.monotonic(), json.loads(raw)))
        asyncio.ensure_future(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._listener = asyncio.ensure_future(self._listen(track))

    async def _listen(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                samples = (await track.recv()).to_ndarray().astype(np.float32) / 32768.0  # both channels
                self.heard.append((time.monotonic(), float(np.sqrt(np.mean(samples ** 2)))))
        except MediaStreamError:
            pass

    def loudness_heard(self, since: float = 0.0) -> float:
        """Peak RMS of the audio received after `since` (monotonic time)."""
        return max((rms for at, rms in self.heard if at >= since), default=0.0)


async def _main() -> None:
    parser = argparse.ArgumentParser(description="Join a Parley room as a scripted participant.")
    parser.add_argument("--url", required=True)
    parser.add_argument("--room", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--audio", type=Path)
    parser.add_argument("--no-loopback", dest="loopback", action="store_false",
                        help="gather real host candidates (only inside a private network namespace)")
    args = parser.parse_args()
    client = RoomClient(args.url, args.room, args.name, args.audio, loopback_ice=args.loopback)
    welcome = await client.join()
    print(json.dumps({"joined": welcome["you"]}), flush=True)  # tests wait for this line
    await asyncio.Event().wait()  # stay until killed


if __name__ == "__main__":
    asyncio.run(_main())
