"""Process settings: one object, read from `PARLEY_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class IceServer(BaseModel):
    """A STUN or TURN server, as the browser's RTCIceServer and aiortc's both take it."""

    urls: list[str] = Field(min_length=1)
    username: str | None = None
    credential: str | None = None  # TURN credentials reach every browser: use short-lived ones


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path.home() / ".parley", description="All state: models, database, logs.")
    log_level: str = "INFO"
    debug_loggers: str = Field("", description="Comma-separated loggers to log at DEBUG whatever log_level says, "
                                               "e.g. inference_server.jobs,agent.conversation (a turn's timeline).")

    # Inference server
    inference_host: str = "127.0.0.1"
    inference_port: int = 8001
    inference_url: str = Field("", description="Agents' inference server; empty = http://inference_host:inference_port")
    inference_token: SecretStr | None = Field(None, description="Bearer token required by every route but /health.")
    inference_public_url: str = Field("", description="How agents reach this inference server, advertised in Redis; "
                                                      "empty = http://<hostname>:<inference_port>.")
    model_profile: Literal["cpu", "gpu"] = "cpu"
    llm_model: str = Field("", description="Catalog name of the chat model; empty = the profile's default.")
    asr_model: str = Field("", description="Catalog name of the speech recognizer; empty = the profile's default.")
    final_asr_model: str = Field("", description="Catalog name of a recognizer for finals only (captions that "
                                                 "commit, the words a reply answers, file transcription) while "
                                                 "asr_model decodes interims; empty = the profile's choice; the "
                                                 "asr_model's own name = one recognizer for both.")
    tts_model: str = Field("", description="Catalog name of the assistant's voice; empty = the profile's default.")
    speaker_model: str = Field("", description="Catalog name of the voice (speaker) embedder; empty = the profile's "
                                              "default.")
    device: Literal["auto", "cuda", "mps", "cpu"] = "auto"
    threads: int = Field(0, description="CPU threads per model runtime; 0 = all cores.")
    max_upload_mb: float = Field(25.0, gt=0, description="Largest audio upload (multipart body).")
    max_json_mb: float = Field(1.0, gt=0, description="Largest JSON body, API and inference server.")
    max_audio_s: float = Field(1800.0, gt=0, description="Longest audio in one upload (transcription, voice "
                                                         "embedding); decoding stops there with a 413.")
    max_text_chars: int = Field(2000, ge=1, description="Longest text per item for emotion and embeddings "
                                                        "(the API's longest memory; MiniLM reads ~256 word pieces).")
    max_items: int = Field(64, ge=1, description="Most texts per emotion or embeddings request.")
    max_stream_seconds: float = 4 * 3600.0

    # Streaming ASR
    vad_threshold: float = 0.5
    min_silence_ms: int = 400
    interim_interval_ms: int = 400
    max_utterance_s: float = 20.0
    sentence_pause_ms: int = 150  # a caption may end at a pause this short after a complete sentence
    max_caption_s: float = 7.5  # no live caption longer than this, pause or not
    change_window_s: float = 1.5  # speaker-change windows: length of each voice embedding
    change_hop_s: float = 0.5  # ...taken this often while someone speaks
    # Live captions also split where the segmentation model (when installed) hears a new voice (real call:
    # final latency p50 2.3 -> 0.7 s, DER 21.5 -> 15.6 %). False: only the embedding windows split them.
    live_segmentation: bool = True
    # Similarities are on the speaker model's own scale: empty = that model's calibrated values.
    change_threshold: float | None = None  # adjacent windows less similar than this: another voice
    speaker_threshold: float | None = None  # an utterance this similar to a known speaker is that speaker

    # End of turn (inference_server/turn_taking.py)
    turn_silence_ms: int = Field(200, ge=32, le=2000, description="Pause after which a turn is judged "
                                                                   "(turn model + words).")
    turn_max_delay_s: float = Field(2.5, ge=0.2, le=10.0, description="A turn judged unfinished ends after "
                                                                       "this much silence anyway.")
    turn_fallback_delay_s: float = Field(0.9, ge=0.2, le=10.0, description="Without a turn model, a turn ends "
                                                                            "after this much silence.")
    turn_threshold: float = Field(0.5, ge=0.0, le=1.0, description="The turn model's P(complete) that ends a turn.")

    # API / web
    host: str = "127.0.0.1"
    port: int = 8000

    # Rooms: the embedded WebRTC transport and the assistant
    assistant_name: str = Field("Parley", description="The assistant's name in every room.")
    assistant_aliases: list[str] = Field(
        default_factory=list, description='Other spellings speech recognition gives the name, as JSON: ["harley"]. '
                                          "Empty = the known ones for the default name.")
    reply_max_tokens: int = Field(120, ge=8, le=1024, description="The longest spoken reply, in LLM tokens.")
    reply_max_sentences: int = Field(4, ge=1, le=20, description="The longest spoken reply, in sentences.")
    max_participants: int = Field(8, ge=1, le=8, description="Human participants per room.")
    ice_servers: list[IceServer] = Field(
        default_factory=list, description='STUN/TURN for LAN or internet use, as JSON: [{"urls": ["stun:host:3478"]}]. '
                                          "Empty = host candidates only; no third-party STUN by default.")
    connect_timeout_s: float = Field(20.0, description="A joined peer not connected by then is dropped.")
    peer_timeout_s: float = Field(15.0, description="A connected peer that sends no audio or data this long is gone.")
    webrtc_loopback_only: bool = Field(False, description="ICE gathers only 127.0.0.1: tests and benchmarks "
                                                          "with client and server on one host.")

    # Storage: SQLite under data_dir unless a Postgres URL (Supabase or any) is given
    database_url: SecretStr | None = Field(None, description="postgresql://… (Supabase or any Postgres); "
                                                              "empty = SQLite file data_dir/parley.db.")
    database_schema: str = Field("public", pattern=r"^[a-z_][a-z0-9_]{0,62}$",
                                 description="Postgres schema holding Parley's tables.")
    redis_url: SecretStr | None = Field(None, description="redis://…; shared rate limits across processes. "
                                                          "Empty = per-process limits.")

    # Accounts and auth
    auth_mode: Literal["local", "supabase"] = Field("local", description="local accounts, or Supabase Auth tokens.")
    jwt_secret: SecretStr | None = Field(None, description="Signs access and join tokens; empty = generated once "
                                                           "and kept in data_dir/jwt_secret.")
    access_token_ttl_s: int = Field(900, ge=60, le=86400)
    refresh_token_ttl_s: int = Field(30 * 86400, ge=3600)
    join_token_ttl_s: int = Field(300, ge=30, le=3600, description="Embedded join tokens: signalling must follow soon.")
    admin_email: str = Field("admin@parley.local", description="The account created on first start.")
    admin_password: SecretStr | None = Field(None, description="That account's password (scripted installs, "
                                                               "tests); empty = a one-time password is printed.")
    supabase_jwt_secret: SecretStr | None = Field(None, description="The project's HS256 JWT secret.")
    supabase_jwks_url: str = Field("", description="https://<project>.supabase.co/auth/v1/.well-known/jwks.json "
                                                   "for asymmetric signing keys.")
    supabase_jwt_audience: str = "authenticated"
    livekit_url: str = Field("", description="wss://… of the LiveKit server; empty = embedded transport.")
    livekit_api_key: str = ""
    livekit_api_secret: SecretStr | None = None
    livekit_token_ttl_s: int = Field(3600, ge=60, le=3600)
    rate_limit_per_minute: int = Field(240, ge=1, description="Requests per user and per API key.")
    login_rate_limit_per_minute: int = Field(10, ge=1, description="Login attempts per client address and account.")
    max_enrollment_mb: float = Field(5.0, gt=0, description="Largest voice recording accepted for enrollment.")
    after_session_timeout_s: float = Field(120.0, ge=0, description="How long a stopping API or LiveKit job waits "
                                                                    "for the last sessions' titles, summaries and "
                                                                    "memories (LLM work: tens of seconds on a CPU).")

    @model_validator(mode="after")
    def _livekit_complete(self) -> Settings:
        if self.livekit_url and (not self.livekit_api_key or self.livekit_api_secret is None):
            raise ValueError("PARLEY_LIVEKIT_URL is set, so PARLEY_LIVEKIT_API_KEY and PARLEY_LIVEKIT_API_SECRET "
                             "are needed too (or leave PARLEY_LIVEKIT_URL empty for the embedded transport)")
        return self

    @property
    def livekit_enabled(self) -> bool:
        """The one answer to "do rooms run on LiveKit?": join tokens, /api/config, the CLI and the
        worker all ask here. A URL without credentials is refused above, never half on."""
        return bool(self.livekit_url)

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def effective_inference_url(self) -> str:
        return self.inference_url or f"http://{self.inference_host}:{self.inference_port}"

    def masked(self) -> dict[str, object]:
        """Effective settings for display: secrets shown as '********' when set."""
        out: dict[str, object] = {}
        for name, value in self.model_dump().items():
            if isinstance(getattr(self, name), SecretStr):
                value = "********"
            out[name] = str(value) if isinstance(value, Path) else value
        return out


@lru_cache
def process_settings() -> Settings:
    """This process's settings, read from the environment once; an app built for a test takes
    its own `Settings` instead, and each app's deps.py hands routes the one its state holds."""
    return Settings()
