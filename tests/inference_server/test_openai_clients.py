"""The real OpenAI clients work unchanged against Parley: the `openai` package, and
livekit-agents' `livekit-plugins-openai` STT, LLM and TTS pointed at the server."""

from __future__ import annotations

import io

import av
import numpy as np
import openai
import pytest
from livekit import rtc
from livekit.agents import llm
from livekit.plugins import openai as lk_openai

from bench.audio import librivox_clips, load_pcm16k
from bench.metrics import wer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clip():
    return librivox_clips()[0]


@pytest.fixture
async def client(inference_url):
    async with openai.AsyncOpenAI(base_url=f"{inference_url}/v1", api_key="unused", max_retries=0) as oai:
        yield oai


def _decoded_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        frames = list(container.decode(audio=0))
    return sum(f.samples for f in frames) / frames[0].sample_rate


async def test_openai_lists_models_and_chats(client):
    ids = [m.id async for m in client.models.list()]
    assert "gpt-4o-mini" in ids and "whisper-1" in ids
    reply = await client.chat.completions.create(
        model="gpt-4o-mini", max_completion_tokens=5,
        messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Tell me a story."}])
    assert reply.usage.completion_tokens <= 5 and reply.choices[0].message.content


async def test_openai_streams_chat_with_usage(client):
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", max_tokens=8, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": [{"type": "text", "text": "Count to three."}]}])
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
    assert chunks[-1].usage is not None and 0 < chunks[-1].usage.completion_tokens <= 8


async def test_openai_refusals_are_its_own_errors(client):
    with pytest.raises(openai.BadRequestError) as refused:
        await client.chat.completions.create(model="gpt-4o-mini", n=2, messages=[{"role": "user", "content": "Hi"}])
    assert "n:" in refused.value.message
    with pytest.raises(openai.NotFoundError):
        await client.chat.completions.create(model="gpt-99", messages=[{"role": "user", "content": "Hi"}])


async def test_openai_embeds_with_its_default_base64(client):
    result = await client.embeddings.create(model="text-embedding-3-small",
                                            input=["The cat sat on the mat.", "A cat was sitting on a mat.",
                                                   "Quarterly revenue grew."])
    a, b, c = (np.array(d.embedding) for d in result.data)
    assert len(a) == 384 and a @ b > a @ c + 0.3


async def test_openai_transcribes_and_speaks(client, clip):
    text = await client.audio.transcriptions.create(model="whisper-1", file=("clip.wav", clip.path.read_bytes()))
    assert wer(clip.text, text.text) <= 0.15
    async with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input="Hello there. How are you today?") as speech:
        assert speech.headers["content-type"] == "audio/mpeg"
        assert _decoded_seconds(await speech.read()) > 1.0


async def test_livekit_openai_stt(inference_url, clip):
    stt = lk_openai.STT(base_url=f"{inference_url}/v1", api_key="unused", model="whisper-1", use_realtime=False)
    pcm = (load_pcm16k(clip.path) * 32767).astype(np.int16)
    frame = rtc.AudioFrame(pcm.tobytes(), 16000, 1, len(pcm))
    event = await stt.recognize([frame])
    assert wer(clip.text, event.alternatives[0].text) <= 0.15


async def test_livekit_openai_llm(inference_url):
    chat = lk_openai.LLM(base_url=f"{inference_url}/v1", api_key="unused", model="gpt-4o-mini",
                         max_completion_tokens=8)
    context = llm.ChatContext.empty()
    context.add_message(role="system", content="Be brief.")
    context.add_message(role="user", content="Say hello.")
    async with chat.chat(chat_ctx=context) as stream:
        response = await stream.collect()
    assert response.text.strip()


@pytest.mark.parametrize("options", [{}, {"model": "tts-1", "response_format": "opus"},
                                     {"model": "tts-1", "response_format": "pcm"}])
async def test_livekit_openai_tts(inference_url, options):
    speech = lk_openai.TTS(base_url=f"{inference_url}/v1", api_key="unused", **options)  # default: mp3 over SSE
    audio = await speech.synthesize("Hello there. How are you today?").collect()
    samples = np.frombuffer(audio.data, dtype=np.int16)
    assert audio.duration > 1.0 and np.abs(samples).max() > 1000
