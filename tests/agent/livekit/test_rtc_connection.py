"""The seam to the LiveKit server, `RtcRoomConnection`, against livekit-agents' mock room (an
autospec of `rtc.Room`: calls with a wrong signature fail), and the worker's room entrypoint in
livekit-agents' fake job context with a real inference server behind it."""

from __future__ import annotations

import asyncio
import time
from unittest.mock import AsyncMock, create_autospec

import numpy as np
import pytest
from livekit import rtc
from livekit.agents.ipc.mock_room import create_mock_room
from livekit.agents.testing import fake_job_context

from agent.livekit.worker import build_server, run_room
from parley.store import SERVICE, Actor, create_store
from agent.transports.livekit_connection import (Disconnected, Joined, Left, RtcRoomConnection, TrackEnded,
                                                 TrackStarted)
from bench.audio import PIPER_JOE, pcm16_array, render_turn
from parley.settings import Settings
from tests.waiting import until

MIC = rtc.TrackSource.SOURCE_MICROPHONE


class FakeAudioStream:
    """What `rtc.AudioStream.from_track` yields: frame events, here 20 ms of 16 kHz audio in real time."""

    def __init__(self, samples: np.ndarray, *, realtime: bool) -> None:
        self._samples = pcm16_array(samples)
        self._realtime = realtime
        self.closed = False

    async def __aiter__(self):
        start = time.monotonic()
        for i, offset in enumerate(range(0, len(self._samples), 320)):
            chunk = self._samples[offset:offset + 320]
            yield rtc.AudioFrameEvent(frame=rtc.AudioFrame(chunk.tobytes(), 16000, 1, len(chunk)))
            if self._realtime:
                await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))

    async def aclose(self) -> None:
        self.closed = True


def mock_room(*present: rtc.RemoteParticipant):
    room = create_mock_room.__wrapped__()  # a fresh one: the cached mock is shared process-wide
    room.local_participant.identity = "parley-agent"
    room.remote_participants = {p.sid: p for p in present}
    room.local_participant.publish_track.return_value.sid = "TR_parley"
    return room


def participant(identity: str, name: str, kind=rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD, tracks=()):
    person = create_autospec(rtc.RemoteParticipant, instance=True)
    person.identity, person.name, person.sid, person.kind = identity, name, f"PA_{identity}", kind
    person.track_publications = {t.sid: t for t in tracks}
    return person


def publication(sid: str, source=MIC):
    track = create_autospec(rtc.RemoteAudioTrack, instance=True)
    track.kind = rtc.TrackKind.KIND_AUDIO
    published = create_autospec(rtc.RemoteTrackPublication, instance=True)
    published.sid, published.source, published.track, published.subscribed = sid, source, track, True
    return published


def handlers(room) -> dict:
    return {call.args[0]: call.args[1] for call in room.on.call_args_list}


class OpenedStreams(list):
    """Tracks the connection opened, as (keyword arguments, stream); `samples` is what they play."""

    samples: np.ndarray | None = None


@pytest.fixture
def audio_streams(monkeypatch) -> OpenedStreams:
    opened = OpenedStreams()

    def from_track(**kwargs):
        realtime = opened.samples is not None
        stream = FakeAudioStream(opened.samples if realtime else np.ones(640) * 0.1, realtime=realtime)
        opened.append((kwargs, stream))
        return stream

    monkeypatch.setattr(rtc.AudioStream, "from_track", from_track)
    return opened


async def test_room_events_come_in_order_and_only_for_human_microphones(audio_streams):
    early_mic = publication("TR_ann")
    room = mock_room(participant("ann", "Ann", tracks=[early_mic]))
    connection = RtcRoomConnection(room)
    events = []
    reader = asyncio.create_task(_collect(connection, events))
    on = handlers(room)

    bob = participant("bob", "Bob")
    on["participant_connected"](bob)
    on["participant_connected"](participant("other-agent", "Bot", kind=rtc.ParticipantKind.PARTICIPANT_KIND_AGENT))
    on["track_subscribed"](publication("TR_bob_screen").track, publication("TR_bob_screen",
                           rtc.TrackSource.SOURCE_SCREENSHARE_AUDIO), bob)
    bobs_mic = publication("TR_bob")
    on["track_subscribed"](bobs_mic.track, bobs_mic, bob)
    await until(lambda: any(isinstance(e, TrackStarted) and e.identity == "bob" for e in events), 5)
    on["track_unsubscribed"](bobs_mic.track, bobs_mic, bob)
    on["participant_disconnected"](bob)
    on["disconnected"]("ROOM_DELETED")
    await asyncio.wait_for(reader, 5)

    kinds = [(type(e).__name__, getattr(e, "identity", None)) for e in events]
    assert kinds == [("Joined", "ann"), ("TrackStarted", "ann"), ("Joined", "bob"), ("TrackStarted", "bob"),
                     ("TrackEnded", "bob"), ("Left", "bob"), ("Disconnected", None)]
    assert isinstance(events[0], Joined) and events[0].name == "Ann"
    started = [e for e in events if isinstance(e, TrackStarted)]
    assert [e.track_sid for e in started] == ["TR_ann", "TR_bob"]
    assert all(kwargs["sample_rate"] == 16000 and kwargs["num_channels"] == 1 for kwargs, _ in audio_streams)
    assert audio_streams[1][1].closed  # the unsubscribed track's stream
    assert isinstance(events[-2], Left) and isinstance(events[-3], TrackEnded)
    assert isinstance(events[-1], Disconnected) and "ROOM_DELETED" in events[-1].reason


async def test_publishing_uses_livekits_text_streams_data_packets_and_a_microphone_track():
    room = mock_room()
    connection = RtcRoomConnection(room)
    writer = AsyncMock(spec=rtc.TextStreamWriter)
    room.local_participant.stream_text.return_value = writer

    attributes = {"lk.transcription_final": "true", "lk.segment_id": "ann-1-1"}
    await connection.send_text("hello", topic="lk.transcription", attributes=attributes, sender_identity="ann")
    room.local_participant.stream_text.assert_awaited_once_with(
        destination_identities=None, topic="lk.transcription", attributes=attributes, sender_identity="ann")
    writer.write.assert_awaited_once_with("hello")
    writer.aclose.assert_awaited_once()

    await connection.send_data(b'{"type":"captions_status"}', topic="parley.events", to="bob")
    room.local_participant.publish_data.assert_awaited_once_with(
        b'{"type":"captions_status"}', reliable=True, topic="parley.events", destination_identities=["bob"])

    source = rtc.AudioSource(24000, 1)
    assert await connection.publish_audio(source, "parley-assistant") == "TR_parley"
    track, options = room.local_participant.publish_track.await_args.args
    assert isinstance(track, rtc.LocalAudioTrack) and options.source == MIC
    await connection.set_attributes({"lk.agent.state": "thinking"})
    room.local_participant.set_attributes.assert_awaited_once_with({"lk.agent.state": "thinking"})
    await connection.aclose()
    room.disconnect.assert_awaited_once()
    await source.aclose()


@pytest.mark.slow
async def test_the_worker_captions_a_room_in_a_fake_job_and_keeps_the_transcript(warm_inference, audio_streams,
                                                                                   tmp_path):
    settings = Settings(inference_url=warm_inference, assistant_name="Parley", data_dir=tmp_path, _env_file=None)
    room = mock_room()
    texts: list[tuple[str, dict]] = []

    async def stream_text(**kwargs):
        writer = AsyncMock(spec=rtc.TextStreamWriter)
        writer.write.side_effect = lambda text: texts.append((text, kwargs))
        return writer

    room.local_participant.stream_text.side_effect = stream_text
    audio_streams.samples = np.concatenate(
        [np.zeros(8000), render_turn(PIPER_JOE, "Good morning everyone."), np.zeros(16000)])

    store = create_store(settings)  # the API creates a room before anyone gets a token for it
    await store.open()
    owner = await store.create_user("ann@example.test", "Ann", None)
    await store.create_room(Actor.for_user(owner.id), room.name, "Stand-up")
    await store.close()

    with fake_job_context(room=room) as ctx:
        job = asyncio.create_task(run_room(ctx, settings))
        await until(lambda: "track_subscribed" in handlers(room), 30, "the job listening to the room")
        on = handlers(room)
        ann, mic = participant("ann", "Ann"), publication("TR_ann")
        on["participant_connected"](ann)
        on["track_subscribed"](mic.track, mic, ann)
        await until(lambda: any(kw["attributes"]["lk.transcription_final"] == "true" for _, kw in texts), 30,
                    "a final caption")
        on["disconnected"]("CLIENT_INITIATED")
        await asyncio.wait_for(job, 90)  # the job ends once the session's title and memories are done

    final, kwargs = next((t, kw) for t, kw in texts if kw["attributes"]["lk.transcription_final"] == "true")
    assert "morning" in final.lower()
    assert kwargs["topic"] == "lk.transcription" and kwargs["sender_identity"] == "ann"
    assert kwargs["attributes"]["lk.transcribed_track_id"] == "TR_ann"
    assert kwargs["attributes"]["parley.speaker"] == "Ann"
    room.local_participant.publish_track.assert_awaited_once()  # the assistant's voice
    room.disconnect.assert_awaited()

    # Same agent as the embedded transport: what was said is in the store (SQLite here).
    store = create_store(settings)
    await store.open()
    try:
        [session] = await store.list_sessions(SERVICE, room.name)
        segments = await store.list_segments(SERVICE, session.id)
    finally:
        await store.close()
    assert any("morning" in segment.text.lower() for segment in segments)
    assert session.ended_at is not None


def test_the_worker_needs_livekit_credentials_and_runs_jobs_as_threads():
    with pytest.raises(ValueError, match="PARLEY_LIVEKIT_URL"):
        build_server(Settings(_env_file=None))
    server = build_server(Settings(livekit_url="ws://livekit:7880", livekit_api_key="key",
                                   livekit_api_secret="secret", _env_file=None))
    assert server._job_executor_type.value == "thread" and server._ws_url == "ws://livekit:7880"


async def _collect(connection: RtcRoomConnection, into: list) -> None:
    async for event in connection.events():
        into.append(event)
