"""Device selection, thread budgets, and the gpu profile's loading code run on small models."""

from __future__ import annotations

import pytest

from inference_server.catalog import ModelNotReady, profile_entries, resolve
from inference_server.device import configure_threads, select_device
from inference_server.loader import load_models
from inference_server.models.asr import FasterWhisperSTT
from inference_server.models.llm import LlamaCppLLM


def test_auto_picks_the_cpu_when_no_accelerator_is_present():
    assert select_device("auto") == "cpu"
    assert select_device("cpu") == "cpu"


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_asking_for_a_missing_accelerator_says_so(device):
    with pytest.raises(RuntimeError, match=f"PARLEY_DEVICE={device}"):
        select_device(device)


def test_thread_budget_caps_torch():
    import torch

    assert configure_threads(1) == 1 and torch.get_num_threads() == 1
    assert configure_threads(0) >= 1


def test_gpu_profile_names_its_production_models():
    entries = profile_entries("gpu")
    assert "large-v3-turbo" in entries["asr"].name
    assert "gemma-3-4b" in entries["llm"].name
    assert "distilroberta" in entries["emotion"].name


def test_gpu_profile_without_its_weights_fails_with_one_line(model_settings, tmp_path):
    settings = model_settings.model_copy(update={"model_profile": "gpu", "data_dir": tmp_path, "llm_model": ""})
    with pytest.raises(ModelNotReady) as info:
        load_models(settings)
    message = str(info.value)
    assert "\n" not in message and "parley models pull" in message


@pytest.mark.slow
def test_whisper_loader_accepts_the_gpu_options_on_a_small_model(model_settings):
    path = resolve(profile_entries("cpu")["asr"], model_settings.models_dir)
    # The gpu profile passes device/compute type/beam; the same code runs tiny.en here.
    stt = FasterWhisperSTT("whisper-tiny.en", str(path), device="cpu", compute_type="float32", beam_size=2)
    import numpy as np

    assert stt.recognize([np.zeros(16000, dtype=np.float32)])[0].no_speech_prob > 0.3


@pytest.mark.slow
def test_llama_loader_with_full_offload_falls_back_to_cpu_here(model_settings):
    entries = profile_entries("cpu", "smollm2-135m-instruct-q4_1")
    path = resolve(entries["llm"], model_settings.models_dir)
    llm = LlamaCppLLM("smollm2", str(path), device="cpu", gpu_layers=-1, context_length=512, threads=2)
    try:
        chunks = list(llm.chat([{"role": "user", "content": "Say hi."}], max_tokens=8, temperature=0))
    finally:
        llm.close()
    assert chunks[-1].finish_reason in {"stop", "length"} and "".join(c.text for c in chunks).strip()
