"""Shared fixtures: settings pointing at the prepared models, the one loaded model set and the one
in-process inference server serving it, and the reference audio.

Every test that reaches the real models (through these fixtures or the module-level ones named
in MODEL_FIXTURES) is marked `slow` here at collection, so `pytest -m "not slow"` needs no model files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from parley.settings import Settings

TEST_LLM = "smollm2-135m-instruct-q4_1"  # 94 MB, fast: for tests where reply quality is not judged
QUALITY_LLM = "qwen2.5-coder-1.5b-instruct-q4_k_m"  # the CPU profile's LLM, for tests that judge the answer

# Fixtures that load real weights. A test needing any of them, directly or through another fixture, is slow.
MODEL_FIXTURES = frozenset({
    "models", "quality_models", "quality_url",  # here
    "local_models",  # tests/api/accounts/conftest.py
    "classifier", "minilm_dir",  # tests/inference_server/test_emotion.py
    "moonshine_dir", "detector", "smol_data_dir",  # test_moonshine.py, test_turn_model.py, test_catalog.py
})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if MODEL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(__file__).resolve().parent.parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def model_settings() -> Settings:
    """Settings using the models `make test` prepared (PARLEY_DATA_DIR, default ~/.parley)."""
    return Settings(llm_model=os.environ.get("PARLEY_TEST_LLM", TEST_LLM), _env_file=None)


@pytest.fixture(scope="session")
def audio_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="session")
def real_dev_set(tmp_path_factory):
    """The dev set's real recordings and conversations (no synthetic voices), built once per run."""
    from bench.devset import build

    return build(tmp_path_factory.mktemp("dev"), synthetic=False)


def _missing_models(exc: Exception):
    pytest.fail(f"{exc} (run `make models-test`)", pytrace=False)


@pytest.fixture(scope="session")
def models(model_settings: Settings) -> Iterator:
    """The real default models (test LLM), loaded once per run for every test that uses them."""
    from inference_server.catalog import ModelError
    from inference_server.loader import load_models

    try:
        loaded, _, _ = load_models(model_settings)
    except ModelError as exc:
        _missing_models(exc)
    yield loaded
    loaded.close()


@pytest.fixture(scope="session")
def inference_url(model_settings: Settings, models) -> Iterator[str]:
    """One real inference server in this process over `models`, shared by the whole run."""
    from bench.server import running_server

    with running_server(model_settings, models) as url:
        yield url


@pytest.fixture(scope="session")
def quality_models(model_settings: Settings, models) -> Iterator:
    """`models` with the quality LLM in place of the test LLM: only the LLM is loaded again."""
    import dataclasses

    from inference_server.catalog import ModelError, get_entry, resolve
    from inference_server.device import configure_threads
    from inference_server.loader import load_llm

    entry = get_entry(QUALITY_LLM)
    try:
        path = resolve(entry, model_settings.models_dir)
    except ModelError as exc:
        _missing_models(exc)
    llm = load_llm(entry, path, models.llm.device, configure_threads(model_settings.threads))
    quality = dataclasses.replace(models, llm=llm)
    quality.device_lock = models.device_lock  # one device: the two sets never run models at once
    yield quality
    llm.close()


@pytest.fixture(scope="session")
def quality_url(model_settings: Settings, quality_models) -> Iterator[str]:
    """A second in-process server, over `quality_models`, for tests where the answer itself is judged."""
    from bench.server import running_server

    settings = model_settings.model_copy(update={"llm_model": QUALITY_LLM})
    with running_server(settings, quality_models) as url:
        yield url
