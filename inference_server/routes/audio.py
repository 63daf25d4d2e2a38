"""OpenAI-compatible transcription and speech, plus voice embeddings."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Literal

import numpy as np
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from parley.settings import Settings

from ..audio import AudioError, AudioTooLong, decode_audio, encode_wav
from ..deps import EngineDep, SettingsDep, check_model, identify_client, require_token
from ..disconnects import unless_disconnected
from ..errors import APIProblem
from ..formats import to_srt, to_vtt
from ..protocol import MAX_SPEAKERS, SAMPLE_RATE, SpeakerEmbedding, SpeechRequest, Transcription, VerboseTranscription
from ..scheduler import Priority
from ..speech_formats import FORMATS, MEDIA_TYPES, Encoder, resample
from ..transcribe import transcribe_audio
from .responses import ERRORS, SSE_EVENT

router = APIRouter(prefix="/v1", dependencies=[Depends(require_token), Depends(identify_client)],
                   responses=ERRORS)

# The voice names OpenAI clients send; this server has one voice per model and speaks with it.
OPENAI_VOICES = {"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer",
                 "verse", "marin", "cedar"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TRANSCRIPT_TYPES = {"text/plain": {"schema": {"type": "string"}},
                     "application/x-subrip": {"schema": {"type": "string"}},
                     "text/vtt": {"schema": {"type": "string"}}}
_AUDIO = {"description": "The speech, in the requested format",
          "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES}
          | {"text/event-stream": SSE_EVENT}}


async def read_upload(file: UploadFile, settings: Settings) -> np.ndarray:
    """Decode an upload off the event loop, stopping at the duration limit."""
    limit = int(settings.max_upload_mb * 1024 * 1024)
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise APIProblem(413, f"upload larger than the {settings.max_upload_mb:g} MB limit (PARLEY_MAX_UPLOAD_MB)",
                         code="file_too_large")
    try:
        return await asyncio.to_thread(decode_audio, data, max_seconds=settings.max_audio_s)
    except AudioTooLong as exc:
        raise APIProblem(413, str(exc), code="audio_too_long") from None
    except AudioError as exc:
        raise APIProblem(400, str(exc), code="invalid_audio") from None


@router.post("/audio/transcriptions", response_model=None,
             responses={200: {"model": Transcription | VerboseTranscription, "content": _TRANSCRIPT_TYPES,
                              "description": "The transcript in `response_format`: json, verbose_json, text, srt, vtt"}})
async def transcriptions(
    engine: EngineDep,
    settings: SettingsDep,
    request: Request,
    file: UploadFile = File(...),
    model: str | None = Form(None),
    response_format: Literal["json", "text", "srt", "vtt", "verbose_json"] = Form("json"),
    language: str | None = Form(None),
    prompt: str | None = Form(None),
    temperature: float | None = Form(None),
    stream: bool | None = Form(None),
    timestamp_granularities: list[str] | None = Form(None, alias="timestamp_granularities[]"),
    speakers: int | None = Form(None, ge=1, le=MAX_SPEAKERS,
                                description="How many people speak, when known; otherwise found from the voices"),
):
    check_model(engine, "asr", model)
    if language not in (None, "", "en"):
        raise APIProblem(400, f"language '{language}' is not supported by this server's ASR model (English only)",
                         code="unsupported_language")
    if stream:
        raise APIProblem(400, "stream: streamed transcription of an upload is not supported; "
                              "use the /v1/stream WebSocket for live transcription", code="unsupported_parameter")
    if set(timestamp_granularities or []) - {"segment"}:
        raise APIProblem(400, "timestamp_granularities: only 'segment' timestamps are available",
                         code="unsupported_parameter")
    audio = await read_upload(file, settings)
    transcript = await unless_disconnected(request, transcribe_audio(engine, settings, audio,
                                                                            speakers=speakers))
    if response_format == "json":
        return Transcription(text=transcript.text)
    if response_format == "text":
        return PlainTextResponse(transcript.text + "\n")
    if response_format == "srt":
        return PlainTextResponse(to_srt(transcript), media_type="application/x-subrip")
    if response_format == "vtt":
        return PlainTextResponse(to_vtt(transcript), media_type="text/vtt")
    return VerboseTranscription(**transcript.model_dump())


@router.post("/audio/speech", response_class=Response, responses={200: _AUDIO})
async def speech(body: SpeechRequest, engine: EngineDep) -> Response:
    check_model(engine, "tts", body.model)
    tts = engine.models.tts
    if body.voice is not None and (not isinstance(body.voice, str) or body.voice not in OPENAI_VOICES | {tts.name}):
        raise APIProblem(400, f"voice: unknown voice {body.voice!r}; this server speaks with {tts.name} "
                              "(OpenAI's voice names are accepted for it)", code="unsupported_parameter")
    if body.instructions:
        raise APIProblem(400, "instructions: steering the voice is not supported by this server's TTS",
                         code="unsupported_parameter")
    if body.stream_format == "sse" and body.response_format == "wav":
        raise APIProblem(400, "stream_format: 'sse' needs a streamed response_format (mp3, opus, flac, pcm), "
                              "not wav", code="unsupported_parameter")
    fmt, rate = FORMATS[body.response_format], tts.sample_rate
    out_rate = fmt.rate or rate
    text = _CONTROL.sub(" ", body.input)  # espeak refuses NUL and friends
    chunks = engine.synthesize(text, speed=body.speed)
    try:
        first = await anext(chunks)  # fail before the 200 is sent if synthesis cannot start
    except StopAsyncIteration:
        raise APIProblem(400, "the input has nothing to speak", code="empty_input") from None
    headers = {"X-Sample-Rate": str(out_rate)}

    if body.response_format == "wav":  # a file: its header states the real sizes
        pieces = [first] + [chunk async for chunk in chunks]
        return Response(encode_wav(np.concatenate(pieces), rate), media_type=fmt.media_type, headers=headers)

    async def body_bytes():
        encoder = Encoder(fmt, out_rate) if fmt.container else None
        async for chunk in _prepend(first, chunks):
            pcm = resample(chunk, rate, out_rate)
            yield encoder.encode(pcm) if encoder else pcm.astype("<i2").tobytes()
        if encoder:
            yield encoder.finish()

    if body.stream_format == "sse":  # what gpt-4o-mini-tts clients (livekit's openai.TTS) ask for
        return StreamingResponse(_sse(body_bytes(), len(body.input)), media_type="text/event-stream",
                                 headers={**headers, "Cache-Control": "no-cache"})
    return StreamingResponse(body_bytes(), media_type=fmt.media_type, headers=headers)


async def _sse(audio, input_chars: int):
    """OpenAI's speech events: base64 audio deltas, then `speech.audio.done` with usage."""
    async for data in audio:
        if data:
            yield f"data: {json.dumps({'type': 'speech.audio.delta', 'audio': base64.b64encode(data).decode()})}\n\n"
    usage = {"input_tokens": input_chars, "output_tokens": 0, "total_tokens": input_chars}  # characters: TTS has no tokens
    yield f"data: {json.dumps({'type': 'speech.audio.done', 'usage': usage})}\n\n"


async def _prepend(first, rest):
    yield first
    async for item in rest:
        yield item


@router.post("/speakers/embed", response_model=SpeakerEmbedding)
async def speaker_embed(engine: EngineDep, settings: SettingsDep, request: Request,
                        file: UploadFile = File(...)) -> SpeakerEmbedding:
    audio = await read_upload(file, settings)
    embedding = await unless_disconnected(request, engine.speaker_embedding(audio, priority=Priority.ANALYSIS))
    if embedding is None:
        raise APIProblem(400, "too little speech to embed a voice; send at least 1 s of speech",
                         code="too_short")
    return SpeakerEmbedding(embedding=[round(float(x), 6) for x in embedding],
                            duration=round(len(audio) / SAMPLE_RATE, 3), model=engine.models.speaker.name)
