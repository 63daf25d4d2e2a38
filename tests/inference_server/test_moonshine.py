"""Moonshine base-en: converted at pull time from its pinned wheel, decoding real speech."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bench.audio import librivox_clips, load_pcm16k
from bench.metrics import wer
from bench.server import running_server as serve
from bench.streams import stream_audio
from inference_server import catalog
from inference_server.catalog import ModelError, profile_entries
from inference_server.loader import load_asr
from inference_server.models.moonshine import MoonshineSTT, decode_tokens, load_tokens

NAME = "moonshine-base-en"


def test_tokens_join_bytes_and_word_marks(tmp_path):
    vocabulary = [b"<unk>", b"<s>", b"</s>", b"\xc3", b"\xa9", "\u2581caf".encode(), "\u2581ok".encode()]
    assert decode_tokens(vocabulary, [5, 3, 4, 6, 2]) == "café ok"
    assert decode_tokens(vocabulary, [1, 99]) == ""  # specials and unknown ids drop out
    (tmp_path / "tokenizer.bin").write_bytes(bytes([5]) + b"<unk>" + bytes([130, 1]) + b"x" * 130)
    assert load_tokens(tmp_path / "tokenizer.bin") == [b"<unk>", b"x" * 130]


def test_old_book_spellings_are_written_as_people_write_them_now():
    pieces = [b"<unk>", b"<s>", b"</s>", *(f"\u2581{w}".encode() for w in
                                          ("Call", "me", "to-morrow,", "not", "To-night.", "Up-to-date", "too-day"))]
    assert decode_tokens(pieces, list(range(3, len(pieces)))) == "Call me tomorrow, not Tonight. Up-to-date too-day"


def test_asr_override_replaces_the_profile_default_and_checks_the_capability():
    assert profile_entries("cpu", asr_override=NAME)["asr"].name == NAME
    assert profile_entries("cpu", asr_override="whisper-tiny.en")["asr"].name == "whisper-tiny.en"
    with pytest.raises(ModelError, match="does llm, not asr"):
        profile_entries("cpu", asr_override="smollm2-135m-instruct-q4_1")


@pytest.fixture(scope="module")
def moonshine_dir(model_settings) -> Path:
    """Pulled into the shared models dir (a 55 MB wheel the first time, then a cheap check)."""
    return catalog.pull([NAME], model_settings.models_dir, progress=False)[NAME]


@pytest.fixture(scope="module")
def moonshine(moonshine_dir) -> MoonshineSTT:
    model = load_asr(catalog.get_entry(NAME), moonshine_dir, "cpu", 2)
    assert isinstance(model, MoonshineSTT)
    yield model
    model.close()


@pytest.mark.slow
def test_pull_converts_the_pinned_inputs_and_records_the_outputs(moonshine_dir, model_settings, tmp_path):
    entry = catalog.get_entry(NAME)
    marker = json.loads((moonshine_dir / catalog.MARKER).read_text())
    assert marker["sha256"] == entry.sha256  # the inputs, as fetched
    assert sorted(marker["files"]) == ["decoder_model_merged.onnx", "encoder_model.onnx", "tokenizer.bin"]
    assert marker["converted"]["outputs"]["encoder_model.onnx"] == marker["files"]["encoder_model.onnx"][1]
    assert not list(moonshine_dir.glob("*.ort"))
    copy = tmp_path / "models"
    shutil.copytree(moonshine_dir, copy / NAME)
    assert catalog.verify(entry, copy)
    with open(copy / NAME / "decoder_model_merged.onnx", "r+b") as handle:
        handle.seek(10_000)
        handle.write(b"\x00" * 8)
    assert not catalog.verify(entry, copy)


@pytest.mark.slow
def test_reads_real_speech(moonshine):
    clips = librivox_clips()
    texts = [r.text for r in moonshine.recognize([load_pcm16k(c.path) for c in clips])]
    assert wer([c.text for c in clips], texts) <= 0.08


@pytest.mark.slow
def test_long_clip_needs_no_thirty_second_window(moonshine):
    clips = librivox_clips()
    audio = np.concatenate([load_pcm16k(c.path) for c in clips])  # ~24.7 s
    text = moonshine.recognize([audio])[0].text
    assert wer(" ".join(c.text for c in clips), text) <= 0.12


@pytest.mark.slow
def test_silence_and_tiny_clips_give_no_words(moonshine):
    quiet = np.random.default_rng(0).normal(0, 1e-4, 32000).astype(np.float32)
    out = moonshine.recognize([np.zeros(16000, np.float32), quiet, np.zeros(400, np.float32)])
    assert [r.text for r in out] == ["", "", ""]


@pytest.mark.slow
async def test_streams_interims_and_a_final_with_moonshine(model_settings, models, moonshine):
    clip = librivox_clips()[0]
    audio = np.concatenate([load_pcm16k(clip.path), np.zeros(16000, np.float32)])
    with serve(model_settings, dataclasses.replace(models, asr=moonshine)) as url:
        run = await stream_audio(url, audio, speed=1.0)
    types = run.types()
    assert types.index("interim") < types.index("final")
    assert len(run.interims) >= 2  # re-decodes of the growing utterance
    assert wer(clip.text, run.text) <= 0.1, run.text


def test_the_cpu_profile_splits_the_work_and_an_override_names_one_recognizer():
    split = profile_entries("cpu")
    assert split["final-asr"].name == NAME and split["asr"].name == "whisper-tiny.en"
    assert "final-asr" not in profile_entries("cpu", final_asr_override="whisper-tiny.en")  # tiny.en does both
    only = profile_entries("cpu", asr_override=NAME)
    assert "final-asr" not in only and only["asr"].name == NAME
    assert profile_entries("cpu", asr_override="whisper-tiny.en", final_asr_override=NAME)["final-asr"].name == NAME
    with pytest.raises(ModelError, match="does llm, not asr"):
        profile_entries("cpu", final_asr_override="smollm2-135m-instruct-q4_1")


@pytest.mark.slow
async def test_interims_come_from_the_live_recognizer_and_finals_from_the_finals_one(models, moonshine):
    from inference_server.engine import Engine
    from inference_server.metrics import Metrics
    from inference_server.scheduler import Priority, Scheduler

    metrics = Metrics()
    scheduler = Scheduler(metrics=metrics, device_lock=models.device_lock)
    scheduler.start()
    engine = Engine(dataclasses.replace(models, final_asr=moonshine), scheduler)
    clip = librivox_clips()[0]
    audio = load_pcm16k(clip.path)

    def calls() -> dict[str, float]:
        samples = metrics.model_latency.collect()[0].samples
        return {s.labels["model"]: s.value for s in samples if s.name.endswith("_count")}

    try:
        interim = await engine.recognize(audio, priority=Priority.INTERIM, beam_size=1, draft=True)
        assert calls() == {"whisper-tiny.en": 1}
        final = await engine.recognize(audio)
        assert calls() == {"whisper-tiny.en": 1, NAME: 1}
    finally:
        scheduler.stop()
    assert wer(clip.text, interim) <= 0.15 and wer(clip.text, final) <= 0.08


@pytest.mark.slow
def test_the_default_models_load_a_second_recognizer_for_finals(model_settings, moonshine_dir):
    from inference_server.loader import load_models

    loaded, _, _ = load_models(model_settings)
    try:
        assert loaded.asr.name == "whisper-tiny.en" and loaded.finals_asr.name == NAME
        roles = [(role, m.name) for role, m in loaded.roles() if m.capability == "asr"]
        assert roles == [("asr", "whisper-tiny.en"), ("final-asr", NAME)]
        assert loaded.serving("asr").name == NAME  # whole clips (OpenAI transcriptions) are finals
    finally:
        loaded.close()
