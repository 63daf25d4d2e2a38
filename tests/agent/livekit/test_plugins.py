"""Parley's livekit-agents plugins conform to livekit-agents' STT/LLM/TTS interfaces, against a real
inference server: streaming STT with interim and final events (speaker and emotion carried),
streaming chat, streaming speech, and livekit-agents' own FallbackAdapters failing over on our errors."""

from __future__ import annotations

import asyncio

import jiwer
import numpy as np
import pytest
from livekit import rtc
from livekit.agents import APIConnectionError, llm, stt, tts
from livekit.agents.metrics import STTMetrics

from agent.livekit.plugins import ParleyLLM, ParleySTT, ParleyTTS
from bench.audio import PIPER_JOE, load_conversation, load_pcm16k, render_turn, resample
from inference_server.client import InferenceClient
from inference_server.protocol import EMOTIONS

from tests.heard import letter_error_rate
from tests.waiting import until

from .conftest import wav_bytes

pytestmark = pytest.mark.slow

DEAD_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
E = stt.SpeechEventType


def _norm(text: str) -> str:
    return jiwer.RemovePunctuation()(text.lower()).strip()


def _frames(samples: np.ndarray, rate: int, channels: int = 1, ms: int = 10) -> list[rtc.AudioFrame]:
    pcm = np.clip(samples * 32767, -32768, 32767).astype(np.int16)
    pcm = np.repeat(pcm[:, None], channels, axis=1).reshape(-1)
    step = rate * ms // 1000
    return [rtc.AudioFrame(pcm[i * channels:(i + step) * channels].tobytes(), rate, channels,
                           len(pcm[i * channels:(i + step) * channels]) // channels)
            for i in range(0, len(pcm) // channels, step)]


async def _play(stream: stt.RecognizeStream, frames: list[rtc.AudioFrame], ms: int = 10, *, end: bool = True) -> None:
    for frame in frames:
        stream.push_frame(frame)
        await asyncio.sleep(ms / 1000)
    if end:
        stream.end_input()


async def test_streaming_stt_speaks_livekits_event_protocol(client, audio_cache):
    conversation = load_conversation("short", audio_cache)
    first, second = conversation.turns[:2]
    samples = load_pcm16k(conversation.path)
    cut, pause = int((first.end + second.start) / 2 * 16000), 1.0
    # The second turn is played once the first has ended (its final in): a slower machine then waits
    # longer instead of seeing the second start before the first's final.
    parts = [np.concatenate([samples[:cut], np.zeros(int(pause * 16000), np.float32)]),
             np.concatenate([samples[cut:int((second.end + 0.3) * 16000)], np.zeros(8000, np.float32)])]
    parley = ParleySTT(client, turn_detection=False)  # START/END_OF_SPEECH per utterance
    assert isinstance(parley, stt.STT)
    assert parley.capabilities.streaming and parley.capabilities.interim_results
    metrics: list[STTMetrics] = []
    parley.on("metrics_collected", metrics.append)

    stream = parley.stream()
    events: list[stt.SpeechEvent] = []

    async def collect() -> None:
        async for event in stream:
            events.append(event)

    collector = asyncio.create_task(collect())
    # A microphone as LiveKit's room input delivers it: 48 kHz mono, 10 ms frames.
    await _play(stream, _frames(resample(parts[0], 16000, 48000), 48000), end=False)
    await until(lambda: any(e.type == E.END_OF_SPEECH for e in events), timeout=30, what="the first turn's end")
    await _play(stream, _frames(resample(parts[1], 16000, 48000), 48000))
    await collector

    kinds = "".join({E.START_OF_SPEECH: "S", E.INTERIM_TRANSCRIPT: "i", E.FINAL_TRANSCRIPT: "F",
                     E.END_OF_SPEECH: "E", E.RECOGNITION_USAGE: ""}[e.type] for e in events)
    assert kinds.replace("i", "") == "SFESFE", kinds  # start, final, end per utterance, in livekit's order
    assert kinds.count("i") >= 2
    finals = [e.alternatives[0] for e in events if e.type == E.FINAL_TRANSCRIPT]
    for final, turn, shift in zip(finals, (first, second), (0.0, pause)):
        assert letter_error_rate(turn.text, final.text) <= 0.15, final.text
        assert abs(final.start_time - turn.start - shift) < 0.6 and abs(final.end_time - turn.end - shift) < 0.6
        assert final.metadata["emotion"] in EMOTIONS and 0 <= final.metadata["emotion_score"] <= 1
    assert [f.speaker_id for f in finals] == ["S1", "S2"]  # two voices, diarized
    assert sum(m.audio_duration for m in metrics) == pytest.approx(sum(len(p) for p in parts) / 16000, abs=0.2)


async def test_with_turn_detection_speech_ends_when_the_turn_does_not_at_a_pause(client):
    first, second = render_turn(PIPER_JOE, "How many minutes are there in"), render_turn(PIPER_JOE, "one hour?")
    pause, tail = np.zeros(int(0.8 * 16000), np.float32), np.zeros(4 * 16000, np.float32)  # tail > the 2.5 s max
    stream = ParleySTT(client).stream()
    player = asyncio.create_task(_play(stream, _frames(np.concatenate([first, pause, second, tail]), 16000)))
    events = [event async for event in stream]
    await player

    kinds = "".join({E.START_OF_SPEECH: "S", E.FINAL_TRANSCRIPT: "F", E.END_OF_SPEECH: "E"}.get(e.type, "")
                    for e in events)
    assert kinds == "SFFE", kinds  # two utterances (the VAD's pause), one turn: "in" is not an ending


async def test_batch_recognition_resamples_downmixes_and_keeps_speaker_and_emotion(client):
    pause = np.zeros(8000, np.float32)
    question = np.concatenate([pause, render_turn(PIPER_JOE, "What is the capital of France?"), pause])
    event = await ParleySTT(client).recognize(_frames(resample(question, 16000, 24000), 24000, channels=2))
    assert event.type == E.FINAL_TRANSCRIPT
    [alternative] = event.alternatives
    assert jiwer.wer("what is the capital of france", _norm(alternative.text)) <= 0.2, alternative.text
    assert alternative.speaker_id == "S1" and alternative.metadata["emotion"] in EMOTIONS


async def test_chat_streams_tokens_as_chat_chunks(client):
    context = llm.ChatContext.empty()
    context.add_message(role="developer", content="You are a terse assistant.")
    context.add_message(role="user", content="Say hello.")
    chunks = []
    async with ParleyLLM(client, max_tokens=16).chat(chat_ctx=context) as stream:
        async for chunk in stream:
            chunks.append(chunk)
    assert len(chunks) > 1 and all(c.delta and c.delta.role == "assistant" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert "".join(c.delta.content for c in chunks).strip()


async def test_speech_synthesizes_whole_texts_and_streamed_sentences(client):
    parley = ParleyTTS(client)
    assert parley.capabilities.streaming and parley.sample_rate == 24000 and parley.num_channels == 1
    whole = await parley.synthesize("Hello there.").collect()
    assert whole.sample_rate == 24000 and whole.duration > 0.4

    stream = parley.stream()
    for piece in ["The garden ", "looks lovely ", "today. ", "Let's go ", "outside."]:
        stream.push_text(piece)
    stream.end_input()
    frames = [audio.frame async for audio in stream]
    await stream.aclose()
    spoken = rtc.combine_audio_frames(frames)
    samples = np.frombuffer(spoken.data, np.int16).astype(np.float32) / 32768
    heard = await client.transcribe(wav_bytes(resample(samples, 24000, 16000)))
    assert jiwer.wer("the garden looks lovely today lets go outside", _norm(heard.text)) <= 0.3, heard.text


async def test_errors_are_livekit_api_errors_so_fallback_adapters_fail_over(client):
    dead = InferenceClient(DEAD_URL)
    with pytest.raises(APIConnectionError):
        await ParleyTTS(dead).synthesize("Hello.").collect()

    speech = tts.FallbackAdapter([ParleyTTS(dead), ParleyTTS(client)])
    assert (await speech.synthesize("Hello there.").collect()).duration > 0.4

    chat = llm.FallbackAdapter([ParleyLLM(dead, max_tokens=8), ParleyLLM(client, max_tokens=8)])
    context = llm.ChatContext.empty()
    context.add_message(role="user", content="Say hi.")
    async with chat.chat(chat_ctx=context) as stream:
        assert (await stream.collect()).text

    listening = stt.FallbackAdapter([ParleySTT(dead), ParleySTT(client)])
    stream = listening.stream()
    question = render_turn(PIPER_JOE, "What is the capital of France?")
    player = asyncio.create_task(_play(stream, _frames(np.concatenate([question, np.zeros(16000)]), 16000)))
    finals = [e.alternatives[0].text async for e in stream if e.type == E.FINAL_TRANSCRIPT]
    await player
    # One final from the live server (its first syllable may be clipped by the failover).
    assert len(finals) == 1 and jiwer.wer("what is the capital of france", _norm(finals[0])) <= 0.2, finals
    await dead.aclose()
