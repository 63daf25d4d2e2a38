"""Wire schemas of the inference server: the one definition used by server, client and tests.

Streaming transcription (`/v1/stream`, WebSocket):
  client -> server  binary frames: 16 kHz mono PCM16 little-endian, 20-100 ms each
                    text frames:   a `StreamControl` JSON message
  server -> client  text frames:   one `StreamEvent` JSON message each
Times are seconds from the start of the stream's audio. Per utterance the server sends
`speech_started`, `interim`s, then `speech_ended` as soon as the VAD has seen the pause, then
the `final` once decoded; a started/ended pair with no final was noise (a click, a cough).

Captions, utterances and turns are different things. `speech_ended` is the end of an
utterance (a long pause). A caption can become final before that, while speech goes on (a
sentence ended at a short pause, the speaker changed, or the caption grew too long): an
utterance then has several finals, numbered by `segment` (0, 1, ...), and the one that closes
it has `last` set; that one has empty text when every word was already final (it only closes
the utterance: show nothing). Interims carry the `segment` they will become.
Turns are not utterances (see inference_server/turn_taking.py): during a pause the server
sends a `preflight` (the words so far, decoded speculatively, for a client that wants to
start its reply early), and an `end_of_turn` once it judges that the speaker is done; that is
what the assistant's turn-taking listens to. A turn may span several utterances.
`end_of_turn` follows the preflight of the turn's last words whenever they were decoded in
time (a turn that ends on a timeout may not wait for them). Speech that resumes after a
preflight makes that preflight moot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

SAMPLE_RATE = 16000
SAMPLE_WIDTH = 2  # bytes, PCM16
TTS_SAMPLE_RATE = 24000  # speech out (`pcm`, the agents' reply audio): 24 kHz mono PCM16, as OpenAI's
MAX_SPEAKERS = 6  # labels a transcription may hold (the `speakers` a caller can ask for)

EMOTIONS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")

# WebSocket close codes (RFC 6455 + application range).
CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003  # wrong sample format or encoding
CLOSE_INVALID = 1007  # malformed control message
CLOSE_POLICY = 1008  # missing or wrong token
CLOSE_TOO_LONG = 1009  # stream exceeded the configured maximum
CLOSE_SERVER_ERROR = 1011


# --- client -> server control messages --------------------------------------------------


class StreamConfig(BaseModel):
    """Optional first message; anything else than these values is refused."""

    type: Literal["config"] = "config"
    sample_rate: int = SAMPLE_RATE
    encoding: Literal["pcm_s16le"] = "pcm_s16le"
    channels: int = 1
    interim: bool = True
    emotion: bool = True
    diarization: bool = True
    turns: bool = True  # judge the ends of turns: `preflight` and `end_of_turn` events


class StreamFlush(BaseModel):
    """Finalize the current utterance now (e.g. push-to-talk released)."""

    type: Literal["flush"] = "flush"


class StreamEnd(BaseModel):
    """No more audio: finalize what is pending, send the last events, close."""

    type: Literal["end"] = "end"


StreamControl = Annotated[Union[StreamConfig, StreamFlush, StreamEnd], Field(discriminator="type")]
stream_control_adapter: TypeAdapter[StreamControl] = TypeAdapter(StreamControl)


# --- server -> client events ------------------------------------------------------------


class Ready(BaseModel):
    """The stream is open: sent in answer to the client's first message (config or audio)."""

    type: Literal["ready"] = "ready"
    stream_id: str
    sample_rate: int = SAMPLE_RATE


class SpeechStarted(BaseModel):
    type: Literal["speech_started"] = "speech_started"
    utterance_id: int
    start: float


class Interim(BaseModel):
    """The growing hypothesis of the current utterance; replaces the previous interim."""

    type: Literal["interim"] = "interim"
    utterance_id: int
    segment: int = 0  # the final this text will become (text already final is not repeated)
    text: str
    start: float
    end: float  # audio time up to which `text` was decoded


class Final(BaseModel):
    type: Literal["final"] = "final"
    utterance_id: int
    segment: int = 0  # finals of one utterance count up from 0
    last: bool = True  # False: committed mid-speech (sentence end, speaker change), more follows
    text: str
    start: float
    end: float
    speaker: str  # stable within the stream: S1, S2, ...
    emotion: str
    emotion_score: float


class SpeechEnded(BaseModel):
    type: Literal["speech_ended"] = "speech_ended"
    utterance_id: int
    end: float


class Preflight(BaseModel):
    """The current utterance's words if the pause under way lasts: a reply may start on them."""

    type: Literal["preflight"] = "preflight"
    utterance_id: int
    text: str
    start: float
    end: float


class EndOfTurn(BaseModel):
    """The speaker is done: the assistant may speak. Not a caption (finals are)."""

    type: Literal["end_of_turn"] = "end_of_turn"
    utterance_id: int  # the turn's last utterance
    end: float  # where its speech ended, stream seconds
    probability: float | None = None  # the turn model's P(complete); None when none answered
    reason: Literal["model", "question", "max_delay", "silence", "flush"]


class ErrorEvent(BaseModel):
    type: Literal["error"] = "error"
    code: str
    message: str


StreamEvent = Annotated[
    Union[Ready, SpeechStarted, Interim, Final, SpeechEnded, Preflight, EndOfTurn, ErrorEvent],
    Field(discriminator="type")
]
stream_event_adapter: TypeAdapter[StreamEvent] = TypeAdapter(StreamEvent)
Emit = Callable[[StreamEvent], Awaitable[None]]  # where a stream's events go (the WebSocket, a test)


# --- REST: transcription ----------------------------------------------------------------


class Segment(BaseModel):
    start: float
    end: float
    speaker: str
    text: str
    emotion: str
    emotion_score: float = Field(ge=0.0, le=1.0)


class Transcript(BaseModel):
    """`parley transcribe --format json` and `verbose_json` share this shape."""

    duration: float
    text: str
    segments: list[Segment]


class Transcription(BaseModel):
    """`response_format=json`: OpenAI's plain transcription."""

    text: str


class VerboseTranscription(Transcript):
    task: Literal["transcribe"] = "transcribe"
    language: str = "en"


# --- REST: chat (OpenAI-compatible subset) ----------------------------------------------


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ContentPart(BaseModel):
    """One part of a message's content; only text parts can be honoured (no vision or audio)."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class RequestMessage(BaseModel):
    """A message as OpenAI clients send it: `developer` is the system role of newer models,
    content may be an array of text parts. `tool` messages and tool calls are refused (400)."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[dict] | None = None


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat request. Parameters that change the answer and cannot be honoured (n > 1,
    tools, logprobs, JSON output formats, audio) are refused with a 400, never ignored."""

    model: str | None = None
    messages: list[RequestMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1, le=4096)
    max_completion_tokens: int | None = Field(None, ge=1, le=4096)
    temperature: float | None = Field(0.7, ge=0.0, le=2.0)
    top_p: float | None = Field(0.95, gt=0.0, le=1.0)
    stop: list[str] | str | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    n: int | None = Field(None, ge=1, le=128)
    tools: list[dict] | None = None
    tool_choice: str | dict | None = None
    parallel_tool_calls: bool | None = None
    functions: list[dict] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    response_format: dict | None = None
    modalities: list[str] | None = None
    audio: dict | None = None
    # Accepted and without effect here: they change neither the answer's content nor its shape.
    user: str | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    metadata: dict | None = None
    store: bool | None = None


class ChatPrefillRequest(BaseModel):
    """Parley extension: evaluate a prompt into the KV cache now, so a reply to it starts fast."""

    messages: list[RequestMessage] = Field(min_length=1)


class ChatPrefillResponse(BaseModel):
    prompt_tokens: int


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatMessage
    finish_reason: str | None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage


class ChatDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChatChunkChoice(BaseModel):
    index: int = 0
    delta: ChatDelta
    finish_reason: str | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChatChunkChoice]
    usage: Usage | None = None  # only on the last chunk, with stream_options.include_usage


# --- REST: speech, embeddings, emotion, speakers ----------------------------------------


class SpeechRequest(BaseModel):
    input: str = Field(min_length=1, max_length=4096)
    model: str | None = None
    voice: str | dict | None = None
    response_format: Literal["wav", "pcm", "mp3", "opus", "flac"] = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0)
    instructions: str | None = None
    stream_format: Literal["audio", "sse"] | None = None


class EmbeddingRequest(BaseModel):
    input: str | list[str]
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None


class EmbeddingData(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str  # a base64 string of little-endian float32 with encoding_format=base64


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingData]
    model: str
    usage: dict[str, int]


class EmotionRequest(BaseModel):
    texts: list[str] = Field(min_length=1)


class EmotionResult(BaseModel):
    label: str
    score: float


class EmotionResponse(BaseModel):
    results: list[EmotionResult]


class SpeakerEmbedding(BaseModel):
    embedding: list[float]
    duration: float
    model: str


class Model(BaseModel):
    """An entry of `GET /v1/models`: a loaded model, or an OpenAI name that maps to one."""

    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "parley"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class ModelInfo(BaseModel):
    capability: str
    name: str
    backend: str
    path: str | None = None
    device: str


class ServerInfo(BaseModel):
    version: str
    profile: str
    device: str
    threads: int
    models: list[ModelInfo]
    versions: dict[str, str]


class Health(BaseModel):
    status: Literal["ready", "loading", "error"]
    detail: str = ""


class APIError(BaseModel):
    """Body of every 4xx/5xx: OpenAI's error shape."""

    class Body(BaseModel):
        message: str
        type: str
        code: str | None = None

    error: Body
