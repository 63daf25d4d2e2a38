"""Speaker enrollment: about 10 s of your voice becomes a voice embedding, so captions can
label you by name in any room."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from inference_server.client import InferenceError

from ..deps import AccountsDep, SettingsDep, SpeakersRead, SpeakersWrite
from ..errors import HeaderProblem
from ..errors import APIProblem
from ..schemas import DisplayName
from parley.store.records import Speaker

router = APIRouter(prefix="/api/speakers", tags=["speakers"])
MIN_VOICE_S = 5.0  # asked for ~10 s; shorter recordings make unreliable voiceprints
_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["name", "file"],
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 40},
                   "file": {"type": "string", "format": "binary",
                            "description": "About 10 s of speech: WAV, WebM/Opus, OGG, MP3…"}}}}}}}


_display_name = TypeAdapter(DisplayName)


def _name(value: object) -> str:
    try:
        return _display_name.validate_python(value)
    except ValidationError:
        raise APIProblem(422, "name: use 1-40 characters, no control characters", "invalid_request") from None


@router.get("", response_model=list[Speaker])
async def list_speakers(principal: SpeakersRead, accounts: AccountsDep) -> list[Speaker]:
    return await accounts.store.list_speakers(principal.actor)


@router.post("", response_model=Speaker, status_code=201, openapi_extra=_FORM,
             responses={413: {"description": "Recording too large"}, 422: {"description": "Too short or unreadable"}})
async def enroll(request: Request, principal: SpeakersWrite, accounts: AccountsDep, settings: SettingsDep) -> Speaker:
    """Upload a recording (form fields `name`, `file`); enrolling a name again replaces that voice."""
    limit = int(settings.max_enrollment_mb * 1024 * 1024)
    too_large = APIProblem(413, f"the recording is larger than {settings.max_enrollment_mb:g} MB; "
                                "about 10 s of speech is enough", "too_large")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64 * 1024:  # refuse before reading it
        raise too_large
    try:
        form = await request.form(max_files=1, max_fields=4)
    except (HTTPException, MultiPartException):  # a broken multipart body, or too many parts
        raise APIProblem(422, "send a multipart form with the fields 'name' and 'file'", "invalid_request") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise APIProblem(422, "file is required: a recording of about 10 s of your voice", "invalid_request")
    name = _name(form.get("name"))
    audio = await upload.read(limit + 1)
    if len(audio) > limit:
        raise too_large
    if not audio:
        raise APIProblem(422, "the recording is empty", "invalid_request")
    try:
        voice = await accounts.voices.speaker_embedding(audio, filename=upload.filename or "voice")
    except InferenceError as exc:
        if exc.status is not None and 400 <= exc.status < 500:
            raise APIProblem(422, f"the recording cannot be used: {exc}", "unusable_audio") from None
        raise HeaderProblem(503, "cannot analyse the voice right now: the inference server is unavailable",
                            "inference_unavailable", {"Retry-After": "5"}) from None
    if voice.duration < MIN_VOICE_S:
        raise APIProblem(422, f"record at least {MIN_VOICE_S:g} s of speech (this one is {voice.duration:.1f} s)",
                         "too_short")
    return await accounts.store.add_speaker(principal.actor, name, voice.embedding)


@router.delete("/{speaker_id}", status_code=204)
async def delete_speaker(speaker_id: Annotated[str, Path(max_length=64)], principal: SpeakersWrite,
                         accounts: AccountsDep) -> Response:
    await accounts.store.delete_speaker(principal.actor, speaker_id)
    return Response(status_code=204)
