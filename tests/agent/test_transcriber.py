"""One participant's captions: labelled, on the participant's clock, and back after an outage."""

from __future__ import annotations

import asyncio

import numpy as np

from agent.conversation.events import UserTranscript
from agent.events import CaptionFinal, CaptionInterim, ParticipantInfo, Speaking
from agent.testing import FakeInferenceServer, tone_pattern
from agent.transcriber import ParticipantTranscriber
from agent.transports.base import AudioStream
from inference_server.client import InferenceClient
from tests.waiting import until


def speech_pcm(pattern: list[tuple[str, float]]) -> bytes:
    return np.round(tone_pattern(pattern) * 32767).astype("<i2").tobytes()


async def feed(audio: AudioStream, pcm: bytes, *, speed: float = 8.0) -> None:
    """Push `pcm` as a microphone would, in 20 ms chunks, `speed` times faster than real time."""
    step = 640
    for i in range(0, len(pcm), step):
        audio.push(pcm[i:i + step])
        await asyncio.sleep(0.02 / speed)


class Recorder:
    def __init__(self) -> None:
        self.events: list = []
        self.status: list[tuple[bool, str]] = []

    async def publish(self, event) -> None:
        self.events.append(event)

    async def status_changed(self, participant_id: str, available: bool, message: str) -> None:
        self.status.append((available, message))

    def finals(self) -> list[CaptionFinal]:
        return [e for e in self.events if isinstance(e, CaptionFinal)]


def start(url: str, recorder: Recorder, name: str = "Ann") -> tuple[AudioStream, asyncio.Task, InferenceClient]:
    client = InferenceClient(url)
    audio = AudioStream()
    transcriber = ParticipantTranscriber(client, ParticipantInfo(id="p1", name=name), audio,
                                         recorder.publish, recorder.status_changed)
    return audio, asyncio.create_task(transcriber.run()), client


async def test_captions_carry_the_participant_name_and_number_extra_voices(fake_inference):
    recorder = Recorder()
    audio, task, client = start(fake_inference.url, recorder)
    await feed(audio, speech_pcm([("silence", 0.5), ("tone", 1.0), ("silence", 0.6), ("tone", 1.0),
                                  ("silence", 0.6), ("tone", 1.0), ("silence", 0.6)]))
    audio.close()
    await asyncio.wait_for(task, 10)
    await client.aclose()

    finals = recorder.finals()
    assert [(f.speaker, f.speaker_index, f.text) for f in finals] == [
        ("Ann", 1, "hello from ann"), ("Ann (2)", 2, "a second voice"), ("Ann", 1, "ann again")]
    assert abs(finals[0].start - 0.5) < 0.05 and abs(finals[0].end - 1.5) < 0.05
    interims = [e for e in recorder.events if isinstance(e, CaptionInterim)]
    assert interims and all(i.caption_id in {f.caption_id for f in finals} for i in interims)
    assert [e.speaking for e in recorder.events if isinstance(e, Speaking)] == [True, False] * 3
    assert recorder.status == [(True, "")]
    assert fake_inference.streams_opened == 1  # one ASR stream for the track, never two


async def test_inference_server_down_at_join_then_back_resumes_captions_on_the_right_clock():
    server = FakeInferenceServer([("we are back", "S1")])
    await server.start()
    port = server.port
    await server.stop()  # down when the participant joins
    recorder = Recorder()
    audio, task, client = start(f"http://127.0.0.1:{port}", recorder)
    feeding = asyncio.create_task(feed(audio, speech_pcm([("tone", 1.0), ("silence", 3.0)]), speed=2.0))
    await until(lambda: recorder.status, what="the outage reported")
    unreachable = "Live captions are unavailable: the inference server cannot be reached. Retrying…"
    assert recorder.status == [(False, unreachable)]
    await feeding
    await server.start(port)
    await until(lambda: recorder.status[-1][0])  # the transcriber retries within its backoff
    await feed(audio, speech_pcm([("tone", 1.0), ("silence", 0.6)]), speed=2.0)
    audio.close()
    await asyncio.wait_for(task, 10)
    await client.aclose()
    await server.stop()

    assert recorder.status[-1] == (True, "")
    [final] = recorder.finals()  # the speech said while the server was down is not captioned late
    assert final.text == "we are back"
    assert abs(final.start - 4.0) < 0.05  # on the participant's clock: after the 4 s heard during the outage


async def test_captions_resume_with_fresh_ids_after_the_server_restarts_mid_call(fake_inference):
    recorder = Recorder()
    audio, task, client = start(fake_inference.url, recorder)
    await feed(audio, speech_pcm([("tone", 1.0), ("silence", 0.6)]))
    await until(recorder.finals, what="the first final")
    port = fake_inference.port
    await fake_inference.stop()
    await until(lambda: recorder.status[-1][0] is False)
    await fake_inference.start(port)
    await until(lambda: recorder.status[-1][0])
    await feed(audio, speech_pcm([("tone", 1.0), ("silence", 0.6)]))
    audio.close()
    await asyncio.wait_for(task, 10)
    await client.aclose()

    first, second = recorder.finals()
    assert recorder.status[-1] == (True, "")
    assert first.caption_id != second.caption_id
    assert second.speaker == "Ann"  # fresh diarization: the first voice again gets the plain name
    assert fake_inference.streams_opened == 2


async def test_last_words_are_captioned_when_the_participant_leaves_mid_sentence(fake_inference):
    recorder = Recorder()
    audio, task, client = start(fake_inference.url, recorder)
    await feed(audio, speech_pcm([("tone", 1.0)]))  # no silence after: the track just ends
    audio.close()
    await asyncio.wait_for(task, 10)
    await client.aclose()
    assert [f.text for f in recorder.finals()] == ["hello from ann"]


async def test_words_final_at_a_pause_still_give_the_conversation_a_final_after_the_speech_ends():
    """The server commits a sentence at its pause, before speech_ended; the conversation waits for a final
    after each speech_ended (until then a reply holds back for 2 s), so the empty closing one reaches it."""
    server = FakeInferenceServer([("what is the capital of france", "S1")], sentence_pause_ms=100)
    await server.start()
    heard: list = []

    async def hear(event) -> None:
        heard.append(event)

    recorder = Recorder()
    client = InferenceClient(server.url)
    audio = AudioStream()
    transcriber = ParticipantTranscriber(client, ParticipantInfo(id="p1", name="Ann"), audio, recorder.publish,
                                         recorder.status_changed, hear=hear)
    task = asyncio.create_task(transcriber.run())
    await feed(audio, speech_pcm([("silence", 0.3), ("tone", 1.0), ("silence", 0.6)]))
    audio.close()
    await asyncio.wait_for(task, 10)
    await client.aclose()
    await server.stop()

    assert [f.text for f in recorder.finals()] == ["what is the capital of france"]  # no empty caption
    finals = [(type(e).__name__, e.text) if isinstance(e, UserTranscript) else type(e).__name__
              for e in heard if not (isinstance(e, UserTranscript) and not e.is_final)]
    assert finals == ["UserStartedSpeaking", ("UserTranscript", "what is the capital of france"),
                      "UserStoppedSpeaking", ("UserTranscript", "")]
