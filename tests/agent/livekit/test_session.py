"""livekit-agents' `AgentSession`, offline, on Parley's plugins and a real inference server: a spoken
turn, an interruption, and two participants sharing one conversation. Audio goes in through
`LiveAudioInput` in real time and comes out into `RecordingAudioOutput`."""

from __future__ import annotations

import asyncio
import time

import jiwer
import numpy as np
import pytest
from livekit.agents import Agent, AgentSession, llm

from agent.livekit.offline_io import LiveAudioInput, RecordingAudioOutput
from agent.livekit.participants import ParticipantRoutingSTT
from agent.livekit.plugins import ParleyLLM, ParleySTT, ParleyTTS
from bench.audio import PIPER_JOE, load_conversation, load_pcm16k, render_turn, resample

from tests.waiting import until

from .conftest import wav_bytes

pytestmark = pytest.mark.slow

PERSONA = "You are Parley, a friendly voice assistant. Answer in one short English sentence."


class RecordingLLM(ParleyLLM):
    """Keeps the context of every request, to check what the model was shown."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.contexts: list[llm.ChatContext] = []

    def chat(self, *, chat_ctx: llm.ChatContext, **kwargs):
        self.contexts.append(chat_ctx.copy())
        return super().chat(chat_ctx=chat_ctx, **kwargs)


class Room:
    """One AgentSession with live microphones and a recording speaker."""

    def __init__(self, session: AgentSession, microphones: LiveAudioInput, speaker: RecordingAudioOutput) -> None:
        self.session, self.microphones, self.speaker = session, microphones, speaker
        self.transcripts: list = []
        session.on("user_input_transcribed", self.transcripts.append)

    def messages(self, role: str) -> list[llm.ChatMessage]:
        return [m for m in self.session.history.messages() if m.role == role]


async def open_room(client, *, stt=None, llm_plugin=None, instructions: str = PERSONA) -> Room:
    llm_plugin = llm_plugin or ParleyLLM(client, max_tokens=40, temperature=0.0)  # the tiny test model: plumbing
    session = AgentSession(stt=stt or ParleySTT(client), llm=llm_plugin,
                           tts=ParleyTTS(client), turn_handling={"turn_detection": "stt"},
                           aec_warmup_duration=None)  # no echo here: listen while speaking
    microphones, speaker = LiveAudioInput(), RecordingAudioOutput()
    session.input.audio, session.output.audio = microphones, speaker
    await session.start(Agent(instructions=instructions))
    return Room(session, microphones, speaker)


def _norm(text: str) -> str:
    return jiwer.RemovePunctuation()(text.lower()).strip()


async def test_a_spoken_question_gets_a_spoken_answer(client):
    room = await open_room(client)
    room.microphones.microphone("ann").play(render_turn(PIPER_JOE, "What is the capital of France?"))
    await until(lambda: room.messages("assistant") and room.speaker.replies and room.speaker.replies[-1].played_s,
                60)

    [question] = room.messages("user")
    assert jiwer.wer("what is the capital of france", _norm(question.text_content)) <= 0.2
    finals = [t for t in room.transcripts if t.is_final]
    assert finals and finals[0].speaker_id == "S1"
    [answer] = room.messages("assistant")
    assert answer.text_content and not answer.interrupted
    assert {"llm_node_ttft", "tts_node_ttfb"} <= answer.metrics.keys()  # LiveKit's latency names
    [reply] = room.speaker.replies
    assert not reply.interrupted and reply.played_s == pytest.approx(reply.pushed_s) and reply.pushed_s > 0.5
    # The voice says the answer: speech of about its length. (Not compared word for word: the tiny
    # test model sometimes answers in French, which an English voice and ASR cannot round-trip.)
    samples = reply.audio().astype(np.float32) / 32768
    heard = await client.transcribe(wav_bytes(resample(samples, 24000, 16000)))
    assert heard.text.strip(), "the reply audio holds speech"
    assert 0.03 <= reply.pushed_s / len(answer.text_content) <= 0.2, (reply.pushed_s, answer.text_content)

    # The same session takes typed input too; livekit.agents' run assertions check the turn.
    result = await room.session.run(user_input="Say the word yes.")
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()
    await room.session.aclose()


async def test_speaking_over_the_assistant_stops_its_voice(client):
    room = await open_room(client, llm_plugin=ParleyLLM(client, max_tokens=160),
                           instructions="You are Parley. Always answer with a long story of at least six sentences.")
    ann = room.microphones.microphone("ann")
    ann.play(render_turn(PIPER_JOE, "Tell me a long story about a dragon."))
    await until(lambda: room.speaker.playing and room.speaker._played() > 1.5, 60)

    onset = time.time()
    ann.play(render_turn(PIPER_JOE, "Stop, please wait a moment."))
    await until(lambda: room.speaker.replies[0].played_s > 0, 60)
    stopped = min(t for t in room.speaker.silenced if t >= onset) - onset
    # How fast is a benchmark's number (`parley bench voice`), not a wall-clock bound here.
    print(f"barge-in: assistant audio stopped {stopped * 1000:.0f} ms after the user's speech onset")

    interrupted = room.speaker.replies[0]
    assert interrupted.interrupted and interrupted.played_s < interrupted.pushed_s - 0.5
    await until(lambda: any(m.interrupted for m in room.messages("assistant")), 60)
    await until(lambda: len(room.messages("user")) == 2, 60)
    assert "stop" in _norm(room.messages("user")[1].text_content)
    await room.session.aclose()


async def test_two_participants_share_one_conversation_labelled_by_speaker(client, audio_cache):
    conversation = load_conversation("short", audio_cache)
    audio = load_pcm16k(conversation.path)
    recording = RecordingLLM(client, max_tokens=30, temperature=0.0)
    room = await open_room(client, stt=ParticipantRoutingSTT(ParleySTT(client)), llm_plugin=recording)
    ann, bob = room.microphones.microphone("Ann"), room.microphones.microphone("Bob")

    first, second = conversation.turns[:2]  # Ann asks the room, Bob answers
    ann.play(audio[int(first.start * 16000):int(first.end * 16000)])
    await asyncio.sleep(second.start - first.start)
    bob.play(audio[int(second.start * 16000):int(second.end * 16000)])
    await until(lambda: {t.speaker_id for t in room.transcripts if t.is_final} >= {"Ann", "Bob"}, 60)
    await until(lambda: recording.contexts and "Bob:" in _shown(recording.contexts[-1]), 60)

    shown = _shown(recording.contexts[-1])
    assert "Ann:" in shown and "morning" in shown.lower() and "Bob:" in shown and "hear" in shown.lower()
    assert shown.index("Ann:") < shown.index("Bob:")  # one shared context, in the order spoken
    assert all(m.text_content.startswith(("Ann:", "Bob:")) for m in room.messages("user"))
    await room.session.aclose()


def _shown(context: llm.ChatContext) -> str:
    return "\n".join(m.text_content or "" for m in context.messages() if m.role == "user")
