"""`parley up` end to end with real models: captions flow, and come back after the inference server crashes."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import pytest

from bench.audio import render_turn
from bench.metrics import wer
from bench.parley_process import running_parley
from bench.room_client import RoomClient
from tests.waiting import until

pytestmark = pytest.mark.slow

SENTENCE = "Please remember to water the plants on Friday."


async def inference_child(parent_pid: int) -> int:
    pgrep = await asyncio.create_subprocess_exec("pgrep", "-P", str(parent_pid), stdout=asyncio.subprocess.PIPE)
    out, _ = await pgrep.communicate()
    [pid] = out.split()
    return int(pid)


async def test_captions_come_back_after_the_inference_server_is_killed():
    speech = render_turn("piper:en_US-joe-medium", SENTENCE, sample_rate=48000)
    async with running_parley() as parley:
        ann = RoomClient(parley.url, "up", "Ann")
        await ann.join()
        ann.microphone.say(speech)
        final = await ann.wait_for(lambda e: e["type"] == "final", 30)
        assert wer(SENTENCE, final.event["text"]) <= 0.2

        os.kill(await inference_child(parley.process.pid), signal.SIGKILL)
        down = await ann.wait_for(lambda e: e["type"] == "captions_status" and not e["available"], 15)
        assert "Retrying" in down.event["message"]
        await ann.wait_for(lambda e: e["type"] == "captions_status" and e["available"], 180)

        ann.microphone.say(speech)
        finals = lambda e: e["type"] == "final" and e["caption_id"] != final.event["caption_id"]
        again = await ann.wait_for(finals, 30)
        assert wer(SENTENCE, again.event["text"]) <= 0.2
        await ann.leave()


async def test_the_first_start_prints_the_admin_sign_in_once():
    async with running_parley({"PARLEY_ADMIN_PASSWORD": ""}, wait_for_models=False) as parley:
        await until(lambda: "password: " in parley.log.read_text(), 30, "the sign-in printed")
        console = parley.log.read_text()
        assert f"Open {parley.url}/ and sign in with" in console and "email:    admin@parley.local" in console
        one_time = console.split("password: ")[1].split()[0]
        async with httpx.AsyncClient(base_url=parley.url) as http:
            login = await http.post("/api/auth/login", json={"email": "admin@parley.local", "password": one_time})
            assert login.status_code == 200 and login.json()["password_change_required"] is True
