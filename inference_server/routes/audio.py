"""OpenAI-compatible transcription and speech, plus voice embeddings."""

from __future__ import annotations

from typing import Literal

import numpy as np
from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import PlainTextResponse, StreamingResponse

from ..audio import AudioError, decode_audio, wav_header
from ..deps import EngineDep, SettingsDep, check_model, require_token
from ..errors import APIProblem
from ..formats import to_srt, to_vtt
from ..protocol import SAMPLE_RATE, SpeakerEmbedding, SpeechRequest, VerboseTranscription
from ..scheduler import Priority
from ..transcribe import transcribe_audio

router = APIRouter(prefix="/v1", dependencies=[Depends(require_token)])

OPENAI_PCM_RATE = 24000  # OpenAI's `pcm` format is 24 kHz 16-bit mono


async def read_upload(file: UploadFile, max_mb: float) -> np.ndarray:
    limit = int(max_mb * 1024 * 1024)
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise APIProblem(413, f"upload larger than the {max_mb:g} MB limit (PARLEY_MAX_UPLOAD_MB)",
                         code="file_too_large")
    try:
        return decode_audio(data)
    except AudioError as exc:
        raise APIProblem(400, str(exc), code="invalid_audio") from None


@router.post("/audio/transcriptions", response_model=None)
async def transcriptions(
    engine: EngineDep,
    settings: SettingsDep,
    file: UploadFile = File(...),
    model: str | None = Form(None),
    response_format: Literal["json", "text", "srt", "vtt", "verbose_json"] = Form("json"),
    language: str | None = Form(None),
    prompt: str | None = Form(None),
    temperature: float | None = Form(None),
):
    check_model(engine, "asr", model)
    if language not in (None, "", "en"):
        raise APIProblem(400, f"language '{language}' is not supported by this server's ASR model (English only)",
                         code="unsupported_language")
    audio = await read_upload(file, settings.max_upload_mb)
    transcript = await transcribe_audio(engine, settings, audio)
    if response_format == "json":
        return {"text": transcript.text}
    if response_format == "text":
        return PlainTextResponse(transcript.text + "\n")
    if response_format == "srt":
        return PlainTextResponse(to_srt(transcript), media_type="application/x-subrip")
    if response_format == "vtt":
        return PlainTextResponse(to_vtt(transcript), media_type="text/vtt")
    return VerboseTranscription(**transcript.model_dump())


@router.post("/audio/speech")
async def speech(body: SpeechRequest, engine: EngineDep) -> StreamingResponse:
    check_model(engine, "tts", body.model)
    rate = engine.models.tts.sample_rate
    chunks = engine.synthesize(body.input, speed=body.speed)
    try:
        first = await anext(chunks)  # fail before the 200 is sent if synthesis cannot start
    except StopAsyncIteration:
        raise APIProblem(400, "the input has nothing to speak", code="empty_input") from None

    if body.response_format == "pcm":
        media, out_rate, head = "audio/pcm", OPENAI_PCM_RATE, b""
    else:
        media, out_rate, head = "audio/wav", rate, wav_header(rate)

    async def body_bytes():
        yield head + _convert(first, rate, out_rate)
        async for chunk in chunks:
            yield _convert(chunk, rate, out_rate)

    return StreamingResponse(body_bytes(), media_type=media, headers={"X-Sample-Rate": str(out_rate)})


def _convert(chunk: np.ndarray, rate: int, out_rate: int) -> bytes:
    if rate != out_rate:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(rate, out_rate)
        chunk = np.clip(resample_poly(chunk.astype(np.float32), out_rate // g, rate // g), -32768, 32767)
    return chunk.astype("<i2").tobytes()


@router.post("/speakers/embed", response_model=SpeakerEmbedding)
async def speaker_embed(engine: EngineDep, settings: SettingsDep, file: UploadFile = File(...)) -> SpeakerEmbedding:
    audio = await read_upload(file, settings.max_upload_mb)
    embedding = await engine.speaker_embedding(audio, priority=Priority.ANALYSIS)
    if embedding is None:
        raise APIProblem(400, "too little speech to embed a voice; send at least 1 s of speech",
                         code="too_short")
    return SpeakerEmbedding(embedding=[round(float(x), 6) for x in embedding],
                            duration=round(len(audio) / SAMPLE_RATE, 3), model=engine.models.speaker.name)

