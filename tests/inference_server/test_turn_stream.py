"""End of turn on live streams with the real models: announced once the speaker is done, not at a pause.

The decision runs on the stream's audio clock, so on a loaded machine the words of a pause
can take longer to decode than a turn may wait. These servers wait up to 10 s (instead of
2.5 s), and the client keeps sending silence until the turn ends, so that what is tested is
the decision, not how busy the machine is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

import numpy as np
import pytest

from bench.audio import PIPER_JOE, librivox_clips, load_pcm16k, pcm16_bytes, render_turn
from bench.metrics import wer
from bench.server import running_server
from inference_server.client import InferenceClient
from inference_server.models.turn import TurnDetector
from inference_server.protocol import EndOfTurn, Final, Preflight, StreamEvent

pytestmark = pytest.mark.slow

MAX_DELAY_S = 10.0
CHUNK = 640  # 40 ms


async def talk(url: str, speech: np.ndarray) -> list[StreamEvent]:
    """`speech` in real time, then silence until the turn ends (at most the max delay and a bit)."""
    events: list[StreamEvent] = []
    ended = asyncio.Event()
    async with InferenceClient(url) as client, client.stream() as stream:
        async def receive() -> None:
            async for event in stream:
                events.append(event)
                if isinstance(event, EndOfTurn):
                    ended.set()

        receiver = asyncio.create_task(receive())
        started, sent = time.monotonic(), 0
        silence = np.zeros(CHUNK, np.float32)
        while sent < len(speech) or (not ended.is_set() and sent < len(speech) + (MAX_DELAY_S + 1) * 16000):
            chunk = speech[sent:sent + CHUNK] if sent < len(speech) else silence
            await stream.send_audio(pcm16_bytes(chunk))
            sent += CHUNK
            await asyncio.sleep(max(0.0, started + sent / 16000 - time.monotonic()))
        await stream.end()
        await asyncio.wait_for(receiver, 120)
    return events


@pytest.fixture(scope="module")
def patient_settings(model_settings):
    return model_settings.model_copy(update={"turn_max_delay_s": MAX_DELAY_S})


@pytest.fixture(scope="module")
def patient_url(patient_settings, models):
    with running_server(patient_settings, models) as url:
        yield url


def turn_ends(events) -> list[EndOfTurn]:
    return [e for e in events if isinstance(e, EndOfTurn)]


def finals(events) -> list[Final]:
    return [e for e in events if isinstance(e, Final)]


async def test_a_finished_sentence_is_announced_as_the_end_of_the_turn(patient_url):
    clip = librivox_clips()[0]  # Smart Turn scores this sentence's end ~0.98
    events = await talk(patient_url, load_pcm16k(clip.path))

    [end] = turn_ends(events)
    assert end.reason == "model" and end.probability >= 0.5, end
    # One caption with words; it may be final at the sentence's short pause, and the utterance then
    # closes with an empty `last` final (a breath after it is no caption).
    [final] = [f for f in finals(events) if f.text]
    assert all(not f.text for f in finals(events) if f is not final)
    assert abs(end.end - final.end) < 0.3 and end.utterance_id == final.utterance_id
    # A reply may start on the words of the pause, sent before the end of the turn when they are decoded
    # in time (on a loaded machine the turn may end on its max delay first): the final's words.
    for preflight in (e for e in events if isinstance(e, Preflight)):
        assert events.index(preflight) < events.index(end)
        assert wer(final.text, preflight.text) <= 0.1


async def test_a_pause_after_a_trailing_word_does_not_end_the_turn(patient_url):
    first = render_turn(PIPER_JOE, "How many minutes are there in")
    second = render_turn(PIPER_JOE, "one hour?")
    pause = np.zeros(int(0.8 * 16000), np.float32)
    events = await talk(patient_url, np.concatenate([first, pause, second]))

    [end] = turn_ends(events)  # one turn: the pause after "in" did not end it
    assert end.end > (len(first) + len(pause)) / 16000
    assert "hour" in " ".join(f.text for f in finals(events)).lower()


class BrokenTurnModel(TurnDetector):
    """A turn model that fails on every call (the fault under test)."""

    backend = "broken"

    def _end_of_turn_impl(self, audios):
        raise RuntimeError("turn model crashed")


@pytest.mark.parametrize("turn", [None, BrokenTurnModel("broken-turn")], ids=["missing", "failing"])
async def test_without_a_working_turn_model_turns_end_on_silence(patient_settings, models, turn, caplog):
    clip = librivox_clips()[0]
    with caplog.at_level(logging.WARNING, logger="inference_server"), \
            running_server(patient_settings, dataclasses.replace(models, turn=turn)) as url:
        events = await talk(url, load_pcm16k(clip.path))

    [end] = turn_ends(events)
    assert end.reason == "silence" and end.probability is None
    assert finals(events) and end.end <= finals(events)[-1].end + 0.3
    assert any("turn" in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
