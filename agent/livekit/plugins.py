"""livekit-agents plugin classes backed by Parley's inference server.

`ParleySTT`, `ParleyLLM` and `ParleyTTS` let a livekit-agents `AgentSession` (or any code
written against those interfaces) use the models of a shared inference server. They take
any `Inference` (agent/ports.py): an `InferencePool` (agent/inference_pool.py) in the worker,
an `InferenceClient` for a single server.

Errors become livekit-agents' `APIConnectionError` (unreachable, stream dropped: retried by
the framework, which re-opens the stream, on another server when a pool is used) or
`APIStatusError` (the server refused).
"""

from __future__ import annotations

import asyncio
import io
import time
import wave
from typing import TYPE_CHECKING, Any

import numpy as np
from livekit import rtc
from livekit.agents import (DEFAULT_API_CONNECT_OPTIONS, APIConnectionError, APIConnectOptions, APIError,
                            APIStatusError, llm, stt, tokenize, tts, utils)
from livekit.agents.types import NOT_GIVEN, NotGivenOr

from inference_server.client import InferenceError
from inference_server.protocol import (CLOSE_NORMAL, SAMPLE_RATE, TTS_SAMPLE_RATE, EndOfTurn, ErrorEvent, Final,
                                       Interim, Preflight, Ready, SpeechEnded, SpeechStarted, StreamConfig,
                                       StreamEvent)

if TYPE_CHECKING:
    from ..ports import Inference, TranscriptionStream

STREAM_CHUNK_SAMPLES = SAMPLE_RATE // 50  # 20 ms per message: the protocol takes 20-100 ms
LANGUAGE = "en"  # the default models are English-only
PROVIDER = "parley"


def _api_error(exc: InferenceError) -> APIError:
    if exc.status is None:  # never reached the server, or the connection dropped
        return APIConnectionError(str(exc))
    return APIStatusError(str(exc), status_code=exc.status, body=exc.code)


def mono_pcm16(frame: rtc.AudioFrame) -> bytes:
    """A frame's samples as mono PCM16 (channels averaged)."""
    samples = np.frombuffer(frame.data, dtype=np.int16)
    if frame.num_channels > 1:
        samples = samples.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
    return samples.tobytes()


def _to_16k_mono(frames: list[rtc.AudioFrame]) -> bytes:
    if not frames:
        return b""
    frame = rtc.combine_audio_frames(frames)
    if frame.sample_rate != SAMPLE_RATE:
        resampler = rtc.AudioResampler(frame.sample_rate, SAMPLE_RATE, num_channels=frame.num_channels,
                                       quality=rtc.AudioResamplerQuality.HIGH)
        parts = resampler.push(frame) + resampler.flush()
        if not parts:
            return b""
        frame = rtc.combine_audio_frames(parts)
    return mono_pcm16(frame)


def _wav(pcm16: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm16)
    return out.getvalue()


# --- STT ------------------------------------------------------------------------------------


class ParleySTT(stt.STT):
    """Streaming ASR with interim results, speaker labels (diarization) and emotion.

    A final's `SpeechData.speaker_id` is the stream's diarization label (S1, S2, ...);
    its `metadata` carries `emotion`, `emotion_score` and `utterance_id`. Events come in
    livekit-agents' order: START_OF_SPEECH, interims, FINAL_TRANSCRIPT, END_OF_SPEECH.

    With `turn_detection` (the default) START/END_OF_SPEECH frame a whole turn as the server
    judges it (its end-of-turn model and the words), so `AgentSession(turn_detection="stt")`
    answers when the speaker is done, not at every pause; finals still come per utterance.
    Without it they frame each utterance (the VAD's pauses).
    """

    def __init__(self, client: Inference, *, interim: bool = True, emotion: bool = True,
                 diarization: bool = True, final_timeout_s: float = 2.0, turn_detection: bool = True) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=interim,
                                                          diarization=diarization))
        self._client = client
        self.final_timeout_s = final_timeout_s  # speech ended and no final by then: it was noise
        self.turn_detection = turn_detection
        self._config = StreamConfig(interim=interim, emotion=emotion, diarization=diarization,
                                    turns=turn_detection)

    @property
    def model(self) -> str:
        return "parley-streaming-asr"

    @property
    def provider(self) -> str:
        return PROVIDER

    async def _recognize_impl(self, buffer: utils.AudioBuffer, *, language: NotGivenOr[str] = NOT_GIVEN,
                              conn_options: APIConnectOptions) -> stt.SpeechEvent:
        frames = buffer if isinstance(buffer, list) else [buffer]
        try:
            transcript = await self._client.transcribe(_wav(_to_16k_mono(frames)))
        except InferenceError as exc:
            raise _api_error(exc) from exc
        first = transcript.segments[0] if transcript.segments else None
        return stt.SpeechEvent(type=stt.SpeechEventType.FINAL_TRANSCRIPT, request_id=utils.shortuuid(),
                               alternatives=[stt.SpeechData(
                                   language=LANGUAGE, text=transcript.text, start_time=0.0,
                                   end_time=transcript.duration, speaker_id=first.speaker if first else None,
                                   metadata={"emotion": first.emotion, "emotion_score": first.emotion_score}
                                   if first else None)])

    def stream(self, *, language: NotGivenOr[str] = NOT_GIVEN,
               conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> ParleySpeechStream:
        return ParleySpeechStream(stt=self, conn_options=conn_options)


class ParleySpeechStream(stt.RecognizeStream):
    """One `/v1/stream` WebSocket. The framework resamples pushed frames to 16 kHz as mono (its
    resampler is single-channel: push mono frames, as LiveKit's room input does, unless they are
    16 kHz already; those are downmixed here)."""

    def __init__(self, *, stt: ParleySTT, conn_options: APIConnectOptions) -> None:
        super().__init__(stt=stt, conn_options=conn_options, sample_rate=SAMPLE_RATE)
        self._parley = stt
        self._usage_samples = 0  # audio sent since the last usage event
        self._open: set[int] = set()  # utterances started and not yet finalized
        self._in_turn = False  # START_OF_SPEECH sent, END_OF_SPEECH not yet
        self._turn_ended = False  # the server ended the turn (it ends once its finals are in)
        self._noise_timers: dict[int, asyncio.TimerHandle] = {}

    async def _run(self) -> None:
        try:
            async with self._parley._client.stream(self._parley._config) as ws:
                await self._serve(ws)
        except InferenceError as exc:
            raise _api_error(exc) from exc

    async def _serve(self, ws: TranscriptionStream) -> None:
        self._open.clear()  # a new stream (after a retry) numbers its utterances afresh
        self._turn_ended = False
        sender = asyncio.create_task(self._send(ws), name="parley-stt-send")
        try:
            async for event in ws:
                self._forward(event)
        finally:
            await utils.aio.cancel_and_wait(sender)
            for timer in self._noise_timers.values():
                timer.cancel()
            self._noise_timers.clear()
            self._report_usage("")  # the audio after the last final
        if ws.close_code != CLOSE_NORMAL:
            # A retry re-opens the stream; audio pushed meanwhile waits in the input channel.
            raise APIConnectionError(f"transcription stream dropped (close code {ws.close_code})")

    async def _send(self, ws: TranscriptionStream) -> None:
        chunker = utils.audio.AudioByteStream(SAMPLE_RATE, 1, samples_per_channel=STREAM_CHUNK_SAMPLES)
        started = False
        async for item in self._input_ch:
            if isinstance(item, self._FlushSentinel):
                chunks = chunker.flush()
            else:
                chunks = chunker.push(mono_pcm16(item))
            for chunk in chunks:
                if not started:  # the server's clock starts with the first audio
                    self.start_time, started = time.time(), True
                self._usage_samples += chunk.samples_per_channel
                await ws.send_audio(bytes(chunk.data))
            if isinstance(item, self._FlushSentinel):
                await ws.flush()
        await ws.end()

    def _forward(self, event: StreamEvent) -> None:
        offset = self.start_time_offset
        if isinstance(event, SpeechStarted):
            if not self._in_turn:
                self._in_turn = True
                self._emit(stt.SpeechEvent(type=stt.SpeechEventType.START_OF_SPEECH,
                                           speech_start_time=self.start_time + event.start))
            self._turn_ended = not self._parley.turn_detection
            self._open.add(event.utterance_id)
        elif isinstance(event, Interim):
            self._emit(stt.SpeechEvent(
                type=stt.SpeechEventType.INTERIM_TRANSCRIPT, request_id=str(event.utterance_id),
                alternatives=[stt.SpeechData(language=LANGUAGE, text=event.text, start_time=event.start + offset,
                                             end_time=event.end + offset)]))
        elif isinstance(event, Final) and not event.text:
            self._close_utterance(event.utterance_id, self.start_time + event.end)  # nothing after the last final
        elif isinstance(event, Final):
            self._emit(stt.SpeechEvent(
                type=stt.SpeechEventType.FINAL_TRANSCRIPT, request_id=str(event.utterance_id),
                speech_end_time=self.start_time + event.end,
                alternatives=[stt.SpeechData(
                    language=LANGUAGE, text=event.text, start_time=event.start + offset, end_time=event.end + offset,
                    speaker_id=event.speaker, metadata={"emotion": event.emotion, "emotion_score": event.emotion_score,
                                                        "utterance_id": event.utterance_id})]))
            self._report_usage(str(event.utterance_id))
            if event.last:  # a sentence committed mid-speech does not end the speech
                self._close_utterance(event.utterance_id, self.start_time + event.end)
        elif isinstance(event, SpeechEnded):
            # The server ends speech before its final is decoded; livekit-agents expects the final
            # first (the turn is judged on the transcript), so END_OF_SPEECH waits for the final,
            # or for `final_timeout_s` when none comes (a cough, noise).
            end_at = self.start_time + event.end
            self._noise_timers[event.utterance_id] = asyncio.get_running_loop().call_later(
                self._parley.final_timeout_s, self._close_utterance, event.utterance_id, end_at)
        elif isinstance(event, EndOfTurn):
            self._turn_ended = True
            self._maybe_end_speech(self.start_time + event.end)
        elif isinstance(event, Preflight):
            pass  # livekit-agents starts its own preemptive reply on the final transcript
        elif isinstance(event, ErrorEvent):
            if event.code in ("not_ready", "internal_error"):
                raise APIConnectionError(f"inference server: {event.message} ({event.code})")
            raise APIStatusError(f"inference server refused the stream: {event.message}", body=event.code,
                                 retryable=False)
        elif not isinstance(event, Ready):
            raise AssertionError(f"unexpected stream event {event!r}")

    def _close_utterance(self, utterance_id: int, end_at: float) -> None:
        if (timer := self._noise_timers.pop(utterance_id, None)) is not None:
            timer.cancel()
        if utterance_id not in self._open:
            return
        self._open.discard(utterance_id)
        self._maybe_end_speech(end_at)

    def _maybe_end_speech(self, end_at: float) -> None:
        if self._in_turn and self._turn_ended and not self._open:
            self._in_turn = False
            self._emit(stt.SpeechEvent(type=stt.SpeechEventType.END_OF_SPEECH, speech_end_time=end_at))

    def _report_usage(self, request_id: str) -> None:
        if self._usage_samples:
            self._emit(stt.SpeechEvent(type=stt.SpeechEventType.RECOGNITION_USAGE, request_id=request_id,
                                       recognition_usage=stt.RecognitionUsage(
                                           audio_duration=self._usage_samples / SAMPLE_RATE)))
            self._usage_samples = 0

    def _emit(self, event: stt.SpeechEvent) -> None:
        self._event_ch.send_nowait(event)


# --- LLM ------------------------------------------------------------------------------------


def chat_messages(chat_ctx: llm.ChatContext) -> list[dict[str, str]]:
    """The text messages of a chat context in the server's roles (developer counts as system)."""
    messages = []
    for item in chat_ctx.items:
        if item.type != "message" or not (text := item.text_content):
            continue
        role = "system" if item.role in ("system", "developer") else item.role
        messages.append({"role": role, "content": text})
    return messages


class ParleyLLM(llm.LLM):
    """Streaming chat completions; tools are not supported by the local models and are ignored."""

    def __init__(self, client: Inference, *, max_tokens: int = 200, temperature: float = 0.7) -> None:
        super().__init__()
        self._client = client
        self._options: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}

    @property
    def model(self) -> str:
        return "parley-chat"

    @property
    def provider(self) -> str:
        return PROVIDER

    def chat(self, *, chat_ctx: llm.ChatContext, tools: list[llm.Tool] | None = None,
             conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
             parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN, tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
             extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN) -> ParleyLLMStream:
        options = {**self._options, **(extra_kwargs if utils.is_given(extra_kwargs) else {})}
        return ParleyLLMStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options,
                               options=options)


class ParleyLLMStream(llm.LLMStream):
    def __init__(self, parley: ParleyLLM, *, chat_ctx: llm.ChatContext, tools: list[llm.Tool],
                 conn_options: APIConnectOptions, options: dict[str, Any]) -> None:
        super().__init__(parley, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._parley = parley
        self._options = options

    async def _run(self) -> None:
        request_id = utils.shortuuid("chat_")
        try:
            async for text in self._parley._client.chat_stream(chat_messages(self._chat_ctx), **self._options):
                self._event_ch.send_nowait(llm.ChatChunk(id=request_id,
                                                         delta=llm.ChoiceDelta(role="assistant", content=text)))
        except InferenceError as exc:
            raise _api_error(exc) from exc


# --- TTS ------------------------------------------------------------------------------------


class ParleyTTS(tts.TTS):
    """24 kHz mono speech; `stream()` speaks sentence by sentence as the text arrives."""

    def __init__(self, client: Inference, *, speed: float = 1.0,
                 sentence_tokenizer: tokenize.SentenceTokenizer | None = None) -> None:
        super().__init__(capabilities=tts.TTSCapabilities(streaming=True), sample_rate=TTS_SAMPLE_RATE,
                         num_channels=1)
        self._client = client
        self._speed = speed
        self._sentences = sentence_tokenizer or tokenize.blingfire.SentenceTokenizer(retain_format=True)

    @property
    def model(self) -> str:
        return "parley-tts"

    @property
    def provider(self) -> str:
        return PROVIDER

    def synthesize(self, text: str, *,
                   conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> ParleyChunkedStream:
        return ParleyChunkedStream(tts=self, input_text=text, conn_options=conn_options)

    def stream(self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> ParleySynthesizeStream:
        return ParleySynthesizeStream(tts=self, conn_options=conn_options)

    async def _speak(self, text: str, emitter: tts.AudioEmitter) -> None:
        try:
            async for pcm in self._client.speech(text, response_format="pcm", speed=self._speed):
                emitter.push(pcm)
        except InferenceError as exc:
            raise _api_error(exc) from exc


class ParleyChunkedStream(tts.ChunkedStream):
    def __init__(self, *, tts: ParleyTTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._parley = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(request_id=utils.shortuuid(), sample_rate=TTS_SAMPLE_RATE, num_channels=1,
                                  mime_type="audio/pcm")
        await self._parley._speak(self._input_text, output_emitter)
        output_emitter.flush()


class ParleySynthesizeStream(tts.SynthesizeStream):
    def __init__(self, *, tts: ParleyTTS, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, conn_options=conn_options)
        self._parley = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(request_id=utils.shortuuid(), sample_rate=TTS_SAMPLE_RATE, num_channels=1,
                                  mime_type="audio/pcm", stream=True)
        output_emitter.start_segment(segment_id=utils.shortuuid())
        sentences = self._parley._sentences.stream()

        async def forward_text() -> None:
            async for data in self._input_ch:
                if isinstance(data, self._FlushSentinel):
                    sentences.flush()
                else:
                    sentences.push_text(data)
            sentences.end_input()

        async def speak() -> None:
            async for sentence in sentences:
                if text := sentence.token.strip():
                    self._mark_started()
                    await self._parley._speak(text, output_emitter)
                    output_emitter.flush()

        tasks = [asyncio.create_task(forward_text()), asyncio.create_task(speak())]
        try:
            await asyncio.gather(*tasks)
        finally:
            await sentences.aclose()
            await utils.aio.cancel_and_wait(*tasks)
        output_emitter.end_segment()


__all__ = ["ParleyLLM", "ParleySTT", "ParleyTTS", "chat_messages", "mono_pcm16"]
