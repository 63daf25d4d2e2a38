"""OpenAI-compatible REST routes and Parley's own, against a real server and real models."""

from __future__ import annotations

import io
import json
import wave

import av
import httpx
import numpy as np
import pytest

from bench.audio import librivox_clips, load_conversation
from bench.metrics import wer
from inference_server.audio import encode_wav
from inference_server.client import InferenceClient
from inference_server.protocol import ChatCompletion, EMOTIONS, VerboseTranscription

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clip():
    return librivox_clips()[0]


@pytest.fixture
def http(inference_url):
    with httpx.Client(base_url=inference_url, timeout=120) as client:
        yield client


def test_health_and_info_describe_the_loaded_models(http):
    assert http.get("/health").json() == {"status": "ready", "detail": ""}
    info = http.get("/info").json()
    loaded = {m["capability"]: m["name"] for m in info["models"]}
    assert set(loaded) == {"vad", "asr", "final-asr", "speaker", "embeddings", "emotion", "llm", "tts", "turn",
                           "segmentation"}
    assert (loaded["asr"], loaded["final-asr"]) == ("whisper-tiny.en", "moonshine-base-en")
    assert info["device"] == "cpu" and "faster-whisper" in info["versions"]


@pytest.mark.parametrize("fmt", ["json", "text", "srt", "vtt", "verbose_json"])
def test_transcription_formats(http, clip, fmt):
    response = http.post("/v1/audio/transcriptions", files={"file": ("clip.wav", clip.path.read_bytes())},
                         data={"model": "whisper-1", "response_format": fmt})
    assert response.status_code == 200, response.text
    if fmt == "json":
        assert wer(clip.text, response.json()["text"]) <= 0.15
    elif fmt == "text":
        assert wer(clip.text, response.text) <= 0.15
    elif fmt == "srt":
        assert response.text.startswith("1\n00:00:0") and " --> " in response.text and "S1: " in response.text
    elif fmt == "vtt":
        assert response.text.startswith("WEBVTT\n\n") and "<v S1>" in response.text
    else:
        body = VerboseTranscription.model_validate(response.json())
        assert body.segments and all(s.speaker == "S1" and s.emotion in EMOTIONS for s in body.segments)
        assert body.duration == pytest.approx(7.1, abs=0.1)


def test_a_conversation_file_is_split_by_speaker(http, audio_cache):
    conversation = load_conversation("short", audio_cache)
    response = http.post("/v1/audio/transcriptions", files={"file": ("c.wav", conversation.path.read_bytes())},
                         data={"response_format": "verbose_json"})
    body = VerboseTranscription.model_validate(response.json())
    assert len({s.speaker for s in body.segments}) == 2
    assert wer(conversation.text, body.text) <= 0.25


def test_chat_completion_answers(http):
    response = http.post("/v1/chat/completions", json={
        "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16, "temperature": 0})
    assert response.status_code == 200, response.text
    body = ChatCompletion.model_validate(response.json())
    assert body.choices[0].message.content.strip()
    assert 0 < body.usage.completion_tokens <= 16


def test_chat_completion_streams_server_sent_events(http):
    with http.stream("POST", "/v1/chat/completions", json={
            "messages": [{"role": "user", "content": "Count to five."}], "max_tokens": 24, "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks).strip()
    assert chunks[-1]["choices"][0]["finish_reason"] in {"stop", "length"}


def test_speech_wav_is_a_whole_file_with_honest_sizes(http, models):
    rate = models.tts.sample_rate  # the voice's own: wav is not resampled
    r = http.post("/v1/audio/speech", json={"input": "Hello there. How are you today?", "response_format": "wav"})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(r.content)) as wav:
        assert wav.getframerate() == rate and wav.getnframes() * 2 + 44 == len(r.content)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert len(samples) / rate > 1.0 and np.abs(samples).max() > 1000
    pcm = http.post("/v1/audio/speech", json={"input": "Hi.", "response_format": "pcm"})
    assert pcm.headers["x-sample-rate"] == "24000" and len(pcm.content) > 24000 * 2 * 0.3


@pytest.mark.parametrize("fmt,media,codec", [("mp3", "audio/mpeg", "mp3"), ("opus", "audio/ogg", "opus"),
                                              ("flac", "audio/flac", "flac"), (None, "audio/mpeg", "mp3")])
def test_speech_is_streamed_in_compressed_formats(http, models, fmt, media, codec):
    body = {"input": "Hello there. How are you today?"} | ({"response_format": fmt} if fmt else {})
    with http.stream("POST", "/v1/audio/speech", json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"] == media
        data = b"".join(r.iter_bytes())
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio[0].codec_context.name.startswith(codec)  # the decoder: mp3float
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    rate = 48000 if fmt == "opus" else models.tts.sample_rate if fmt == "flac" else 24000
    assert len(samples) / rate > 1.0


async def test_speech_round_trips_through_transcription(inference_url):
    async with InferenceClient(inference_url) as client:
        pcm = b"".join([chunk async for chunk in client.speech("The weather is lovely this morning.")])
        audio = np.frombuffer(pcm, dtype="<i2")
        transcript = await client.transcribe(encode_wav(audio, 24000))
    assert wer("the weather is lovely this morning", transcript.text) <= 0.2


async def test_embeddings_put_similar_sentences_close(inference_url):
    async with InferenceClient(inference_url) as client:
        a, b, c = (np.array(v) for v in await client.embed(
            ["The cat sat on the mat.", "A cat was sitting on a mat.", "Quarterly revenue grew by ten percent."]))
    assert len(a) == 384
    assert a @ b > a @ c + 0.3


async def test_emotion_keeps_order(inference_url):
    async with InferenceClient(inference_url) as client:
        results = await client.emotion(["I am so happy, this is wonderful!", "What time is the meeting?",
                                        "This is disgusting, it makes me sick."])
    assert [r.label for r in results] == ["joy", "neutral", "disgust"]
    assert all(0.0 <= r.score <= 1.0 for r in results)


async def test_voice_embeddings_tell_two_speakers_apart(inference_url, audio_cache):
    conversation = load_conversation("short", audio_cache)
    samples = conversation.samples()
    vectors = {}
    async with InferenceClient(inference_url) as client:
        for turn in conversation.turns[:3]:
            piece = samples[int(turn.start * 16000):int(turn.end * 16000)]
            result = await client.speaker_embedding(encode_wav((piece * 32767).astype(np.int16), 16000))
            vectors.setdefault(turn.speaker, []).append(np.array(result.embedding))
    (same_a, same_b), other = [v for v in vectors.values() if len(v) == 2][0], \
        [v for v in vectors.values() if len(v) == 1][0][0]
    assert same_a @ same_b > same_a @ other


def test_metrics_show_queue_depth_and_model_latency(http, clip):
    http.post("/v1/audio/transcriptions", files={"file": ("clip.wav", clip.path.read_bytes())})
    text = http.get("/metrics").text
    assert "parley_scheduler_queue_depth{priority=\"live\"}" in text
    assert "parley_model_latency_seconds_count{model=\"whisper-tiny.en\"}" in text

