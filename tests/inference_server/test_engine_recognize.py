"""The engine's no-speech drop: a decode the ASR is unsure is speech is dropped (Whisper makes up
words on noise), unless the audio was cut out of speech going on (a caption split mid-speech)."""

from __future__ import annotations

import numpy as np
import pytest

from inference_server.engine import Engine
from inference_server.models.asr import Recognition
from inference_server.models.base import Capabilities
from inference_server.scheduler import Scheduler

UNSURE = Recognition(text="or queen of clothes.", avg_logprob=-1.07, no_speech_prob=0.71)  # measured on an overlap


class UnsureASR:
    name = "unsure-asr"
    capabilities = Capabilities(batching=True)

    def recognize(self, clips, beam_size=None):
        return [UNSURE for _ in clips]


@pytest.fixture
async def engine():
    scheduler = Scheduler()
    scheduler.start()
    asr = UnsureASR()
    models = type("Models", (), {"asr": asr, "finals_asr": asr, "device_lock": None})()
    yield Engine(models, scheduler)
    scheduler.stop()


async def test_an_unsure_decode_of_what_may_be_no_speech_is_dropped(engine):
    assert await engine.recognize(np.zeros(16000, np.float32)) == ""


async def test_an_unsure_decode_cut_out_of_speech_going_on_is_kept(engine):
    assert await engine.recognize(np.zeros(16000, np.float32), inside_speech=True) == UNSURE.text
