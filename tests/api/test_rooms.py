"""Rooms over real WebRTC (aiortc clients on 127.0.0.1) with a fake inference server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

from agent.events import server_event_adapter
from agent.testing import FakeInferenceServer, tone_pattern
from bench.room_access import Account, sign_in
from bench.room_client import JoinFailed, RoomClient
from tests.clock import ManualClock
from tests.waiting import until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # real WebRTC calls, seconds of real-time audio each


def voice(*pattern: tuple[str, float]) -> np.ndarray:
    """A tone pattern at 48 kHz, the rate the test client's microphone plays."""
    return tone_pattern(list(pattern), sample_rate=48000)


def is_final_from(name: str):
    return lambda e: e["type"] == "final" and e["speaker"] == name


async def participants(url: str, room: str) -> list[str]:
    async with httpx.AsyncClient(base_url=url) as http:
        headers = await sign_in(http, Account.from_env())
        return [p["name"] for p in (await http.get(f"/api/rooms/{room}", headers=headers)).json()["participants"]]


async def test_two_people_hear_each_other_and_both_see_both_captions_under_the_right_names(start_parley, fake_inference):
    url = await start_parley(inference_url=fake_inference.url)
    ann = RoomClient(url, "team", "Ann")
    bob = RoomClient(url, "team", "Bob")
    welcome = await ann.join()
    assert [p["name"] for p in welcome["participants"]] == ["Parley", "Ann"]
    await bob.join()
    await ann.wait_for(lambda e: e["type"] == "participant_joined" and e["participant"]["name"] == "Bob", 5)
    assert await participants(url, "team") == ["Parley", "Ann", "Bob"]
    # Both are in before anyone speaks, so both see every caption.
    ann.microphone.say(voice(("silence", 0.5), ("tone", 1.2), ("silence", 0.8), ("tone", 1.2), ("silence", 6)))
    bob.microphone.say(voice(("silence", 4.5), ("tone", 1.2), ("silence", 4)))

    for client in (ann, bob):
        await client.wait_for(is_final_from("Ann (2)"), 15)  # the fake diarizer's second voice on Ann's mic
        await client.wait_for(is_final_from("Bob"), 15)
    for client in (ann, bob):
        finals = [(e.event["speaker"], e.event["text"]) for e in client.of_type("final")]
        assert ("Ann", "hello everyone") in finals
        assert ("Ann (2)", "someone else on my microphone") in finals
        assert ("Bob", "hello everyone") in finals
        assert all(e.event["emotion"] for e in client.of_type("final"))
        assert client.of_type("interim"), "interim text arrives before the final"
    # The mix-minus: each hears the other (a 0.3 tone is ~0.2 RMS), nobody hears themselves.
    assert ann.loudness_heard() > 0.1 and bob.loudness_heard() > 0.1
    assert fake_inference.streams_opened == 2  # one ASR stream per participant
    for received in ann.events + bob.events:  # everything on the wire is a declared room event
        server_event_adapter.validate_python(received.event)
    await ann.leave()
    await bob.leave()


async def test_nobody_hears_their_own_voice(start_parley, fake_inference):
    url = await start_parley(inference_url=fake_inference.url)
    ann = RoomClient(url, "solo", "Ann", voice(("tone", 2.0), ("silence", 1)))
    await ann.join()
    await ann.microphone.finished.wait()
    assert ann.loudness_heard() < 0.01
    await ann.leave()


async def test_leaving_mute_and_a_new_arrival_are_announced(start_parley, fake_inference):
    url = await start_parley(inference_url=fake_inference.url)
    ann, bob = RoomClient(url, "team", "Ann"), RoomClient(url, "team", "Bob")
    await ann.join()
    await bob.join()
    bob.send({"type": "mute", "muted": True})
    updated = await ann.wait_for(lambda e: e["type"] == "participant_updated", 5)
    assert updated.event["participant"]["name"] == "Bob" and updated.event["participant"]["muted"] is True
    await bob.leave()
    left = await ann.wait_for(lambda e: e["type"] == "participant_left", 5)
    assert left.event == {"type": "participant_left", "participant_id": bob.participant_id, "reason": "left"}
    assert await participants(url, "team") == ["Parley", "Ann"]
    await ann.leave()


async def test_a_full_room_and_a_taken_name_are_refused_with_409(start_parley, fake_inference):
    url = await start_parley(inference_url=fake_inference.url, max_participants=2)
    ann, bob = RoomClient(url, "team", "Ann"), RoomClient(url, "team", "Bob")
    await ann.join()
    with pytest.raises(JoinFailed) as taken:
        await RoomClient(url, "team", "ann").join()
    assert taken.value.status == 409 and "already in use" in taken.value.message
    await bob.join()
    with pytest.raises(JoinFailed) as full:
        await RoomClient(url, "team", "Cleo").join()
    assert full.value.status == 409 and "is full (2 people)" in full.value.message
    other = RoomClient(url, "other-room", "Cleo")  # other rooms are unaffected
    await other.join()
    for client in (ann, bob, other):
        await client.leave()


async def test_a_peer_that_vanishes_without_closing_is_dropped_and_the_room_told(start_parley, fake_inference):
    url = await start_parley(inference_url=fake_inference.url, peer_timeout_s=2.0)
    ann = RoomClient(url, "team", "Ann")
    await ann.join()
    vanishing = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.room_client", "--url", url, "--room", "team", "--name", "Bob",
        stdout=asyncio.subprocess.PIPE, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    bob_id = json.loads(await asyncio.wait_for(vanishing.stdout.readline(), 30))["joined"]
    await ann.wait_for(lambda e: e["type"] == "participant_joined", 5)
    vanishing.send_signal(signal.SIGKILL)  # no goodbye, no DTLS close: just gone
    await vanishing.wait()
    left = await ann.wait_for(lambda e: e["type"] == "participant_left", 10)
    assert left.event == {"type": "participant_left", "participant_id": bob_id, "reason": "timeout"}
    assert await participants(url, "team") == ["Parley", "Ann"]
    await ann.leave()


async def test_a_seat_whose_connection_never_comes_up_is_released(start_parley, fake_inference):
    clock = ManualClock()
    url = await start_parley(inference_url=fake_inference.url, max_participants=1, connect_timeout_s=5.0, clock=clock)
    ghost = RoomClient(url, "team", "Ghost")
    ghost.pc.addTrack(ghost.microphone)
    await ghost.pc.setLocalDescription(await ghost.pc.createOffer())
    async with httpx.AsyncClient(base_url=url) as http:  # offer sent, answer never applied
        response = await http.post("/api/rooms/team/join",
                                   json={"token": await ghost.join_token(), "sdp": ghost.pc.localDescription.sdp})
        assert response.status_code == 201
    with pytest.raises(JoinFailed, match="is full"):
        await RoomClient(url, "team", "Ann").join()
    clock.advance(4.0)
    with pytest.raises(JoinFailed, match="is full"):  # not yet timed out: still the ghost's seat
        await RoomClient(url, "team", "Ann").join()
    clock.advance(2.0)
    for _ in range(100):  # the room's watchdog (once a second) now finds the ghost's connection timed out
        ann = RoomClient(url, "team", "Ann")
        try:
            await ann.join()
            break
        except JoinFailed as refused:
            assert "is full" in refused.message
            await ann.close()
            await asyncio.sleep(0.2)
    else:
        raise AssertionError("the ghost's seat was never released")
    await ann.leave()
    await ghost.close()


async def test_inference_server_down_at_join_room_still_works_and_captions_resume(start_parley):
    inference = FakeInferenceServer([("we are back", "S1")])
    await inference.start()
    port = inference.port
    await inference.stop()
    url = await start_parley(inference_url=inference.url)
    ann = RoomClient(url, "team", "Ann", voice(("silence", 1.5), ("tone", 1.0)))
    bob = RoomClient(url, "team", "Bob")
    await ann.join()
    await bob.join()
    notice = await bob.wait_for(lambda e: e["type"] == "captions_status", 5)
    assert notice.event["available"] is False and "cannot be reached" in notice.event["message"]
    await until(lambda: bob.loudness_heard() > 0.1, what="the room's audio works without the inference server")

    await inference.start(port)
    await bob.wait_for(lambda e: e["type"] == "captions_status" and e["available"], 10)
    ann.microphone.say(voice(("tone", 1.0), ("silence", 1.0)))
    final = await bob.wait_for(lambda e: e["type"] == "final", 10)
    assert (final.event["speaker"], final.event["text"]) == ("Ann", "we are back")
    assert len(bob.of_type("final")) == 1  # what Ann said during the outage is not captioned late
    await ann.leave()
    await bob.leave()
    await inference.stop()


async def test_what_is_said_is_kept_as_a_session_transcript_in_order(start_parley, fake_inference):
    url = await start_parley(inference_url=fake_inference.url)
    ann = RoomClient(url, "kept", "Ann", voice(("silence", 0.5), ("tone", 1.2), ("silence", 0.8), ("tone", 1.2),
                                               ("silence", 2)))
    await ann.join()
    await ann.wait_for(is_final_from("Ann (2)"), 15)
    await ann.leave()
    async with httpx.AsyncClient(base_url=url) as http:
        headers = await sign_in(http, Account.from_env())
        async def ended() -> bool:
            nonlocal session
            [session] = (await http.get("/api/sessions", headers=headers, params={"room": "kept"})).json()
            return bool(session["ended_at"])

        session = None
        await until(ended, what="the session ended")  # the room closes once its last person is gone
        transcript = (await http.get(f"/api/sessions/{session['id']}/transcript", headers=headers)).json()
    assert session["ended_at"] is not None
    assert [(s["seq"], s["speaker"], s["text"]) for s in transcript["segments"]] == [
        (1, "Ann", "hello everyone"), (2, "Ann (2)", "someone else on my microphone")]
    assert all(s["emotion"] and s["end"] > s["start"] for s in transcript["segments"])
    assert {p["display_name"] for p in transcript["participants"]} == {"Ann", "Parley"}


def _meeting_llm(messages: list[dict]) -> str:
    """What an LLM answers to the after-session prompts (prompts/session_summary.txt, memory_extraction.txt)."""
    prompt = messages[-1]["content"]
    if prompt.startswith("Below is the transcript of a meeting. Answer in exactly this form"):
        return "Title: Atlas release date\nSummary: The team set the Atlas release for March 14."
    if "durable facts" in prompt:
        return "- The Atlas release ships on March 14."
    return "Okay."


async def test_the_last_sessions_title_and_memories_outlive_an_immediate_shutdown(start_parley):
    inference = FakeInferenceServer([("we agreed that atlas ships on march fourteen", "S1")], answer=_meeting_llm)
    await inference.start()
    inference.chat_gate.clear()  # a slow LLM: nothing after the session is done when the API is told to stop
    url = await start_parley(inference_url=inference.url)
    ann = RoomClient(url, "atlas", "Ann", voice(("silence", 0.5), ("tone", 1.2), ("silence", 2)))
    await ann.join()
    await ann.wait_for(is_final_from("Ann"), 15)
    await ann.leave()  # the room closes and its session ends: the title is asked for
    await until(lambda: any("Title:" in chat[-1]["content"] for chat in inference.chats), what="a title asked for")

    stopped = start_parley.stop(url)

    async def not_listening() -> bool:
        try:
            async with httpx.AsyncClient(base_url=url) as http:
                await http.get("/health")
        except httpx.TransportError:
            return True
        return False

    await until(not_listening, what="the API shutting down")
    inference.chat_gate.set()
    await stopped

    url = await start_parley(inference_url=inference.url)  # restarted over the same data
    async with httpx.AsyncClient(base_url=url) as http:
        headers = await sign_in(http, Account.from_env())
        [session] = (await http.get("/api/sessions", headers=headers, params={"room": "atlas"})).json()
        memories = (await http.get("/api/memories", headers=headers)).json()
    assert session["title"] == "Atlas release date"
    assert [m["text"] for m in memories] == ["The Atlas release ships on March 14."]
    await inference.stop()
