"""A small FastAPI app of the account routes over a fresh SQLite store, driven in-process
with httpx. Texts and voices are embedded by `embedders`: word-count stand-ins, or the real
default models (`local_models`) in the modules that judge what the embeddings find."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from api.accounts import account_services, include_account_routes
from api.errors import install_error_handlers
from api.state import ApiState
from inference_server.audio import AudioError, decode_audio, encode_wav
from inference_server.catalog import ModelError, get_entry, profile_entries, resolve
from inference_server.client import InferenceError
from inference_server.protocol import SAMPLE_RATE, SpeakerEmbedding
from parley.settings import Settings
from tests.api.word_embedder import WordEmbedder
from tests.clock import ManualClock

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
PASSWORD = "correct horse battery"


class LocalModels:
    """TextEmbedder and VoiceEmbedder over the real MiniLM and the default profile's speaker model,
    answering as the inference server's /v1/embeddings and /v1/speakers/embed do."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._text = self._voice = None

    def _load(self) -> None:
        from inference_server.loader import load_speaker
        from inference_server.models.embeddings import SentenceTransformerEmbedder

        voice_entry = profile_entries("cpu")["speaker"]
        try:
            text_path = resolve(get_entry("all-minilm-l6-v2"), self.settings.models_dir)
            voice_path = resolve(voice_entry, self.settings.models_dir)
        except ModelError as exc:
            pytest.fail(f"{exc} (run `make models-test`)", pytrace=False)
        self._text = SentenceTransformerEmbedder("all-minilm-l6-v2", str(text_path))
        self._voice = load_speaker(voice_entry, voice_path)

    def voice_model(self):
        """The loaded speaker model (its `dim` and `similarity` scale)."""
        if self._voice is None:
            self._load()
        return self._voice

    async def _ready(self) -> None:
        if self._text is None:
            await asyncio.to_thread(self._load)

    async def embed(self, texts) -> list[list[float]]:
        await self._ready()
        return (await asyncio.to_thread(self._text.embed, list(texts))).tolist()

    async def speaker_embedding(self, audio: bytes, *, filename: str = "voice.wav") -> SpeakerEmbedding:
        await self._ready()
        try:
            pcm = decode_audio(audio)
        except AudioError as exc:
            raise InferenceError(str(exc), status=400, code="bad_audio") from None
        vector = (await asyncio.to_thread(self._voice.embed, [pcm]))[0]
        if vector is None:
            raise InferenceError("too little speech to embed a voice", status=400, code="too_short")
        return SpeakerEmbedding(embedding=vector.tolist(), duration=len(pcm) / SAMPLE_RATE, model=self._voice.name)


@pytest.fixture(scope="session")
def local_models(model_settings) -> LocalModels:
    return LocalModels(model_settings)


def speech_wav(*names: str) -> bytes:
    """Real read speech (one speaker) from Debian's pocketsphinx-testdata, joined."""
    if not LIBRIVOX.is_dir():
        pytest.fail("pocketsphinx-testdata is missing (make apt-test installs it)", pytrace=False)
    pcm = np.concatenate([decode_audio((LIBRIVOX / f"sense_and_sensibility_01_austen_64kb-{n}.wav").read_bytes())
                          for n in names])
    return encode_wav((pcm * 32767).astype(np.int16), SAMPLE_RATE)


@dataclass
class Caller:
    """A signed-in user of the test app."""

    user_id: str
    email: str
    headers: dict[str, str]


class AccountsApp:
    def __init__(self, http: httpx.AsyncClient, accounts) -> None:
        self.http, self.accounts = http, accounts

    async def sign_up(self, name: str = "user", *, admin: bool = False) -> Caller:
        from api.auth.passwords import hash_password

        email = f"{name}-{uuid.uuid4().hex[:8]}@example.test"
        await self.accounts.store.create_user(email, name.title(), await hash_password(PASSWORD), is_admin=admin)
        response = await self.http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        body = response.json()
        return Caller(body["user"]["id"], email, {"Authorization": f"Bearer {body['access_token']}"})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def embedders():
    """What embeds texts and voices; a module where their quality matters overrides this with `local_models`."""
    return WordEmbedder()


@pytest.fixture
async def make_app(tmp_path, embedders, clock):
    """A factory of started apps (settings overrides as keywords), closed after the test; their
    rate-limit windows run on `clock`, which only the test moves."""
    async with AsyncExitStack() as stack:
        async def start(**overrides) -> AccountsApp:
            options = {"rate_limit_per_minute": 10_000, "login_rate_limit_per_minute": 1000} | overrides
            settings = Settings(data_dir=tmp_path / uuid.uuid4().hex[:6], _env_file=None, **options)
            app = FastAPI()
            install_error_handlers(app)
            include_account_routes(app)
            accounts = await stack.enter_async_context(account_services(settings, embedders, embedders, clock=clock))
            # The account routes use neither rooms nor the inference client (their embedders are local).
            app.state.parley = ApiState(settings=settings, accounts=accounts, rooms=None, inference=None)
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://parley.test"))
            return AccountsApp(http, accounts)

        yield start


@pytest.fixture
async def api(make_app) -> AccountsApp:
    return await make_app()


def error(response: httpx.Response) -> str:
    return response.json()["error"]["message"]
