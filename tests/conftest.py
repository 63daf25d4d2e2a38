"""Shared fixtures: settings pointing at the prepared models, and the reference audio."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from parley.settings import Settings

TEST_LLM = "smollm2-135m-instruct-q4_1"  # 94 MB, fast: for tests where reply quality is not judged


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
def models(model_settings: Settings) -> Iterator:
    """The real default models (test LLM), loaded once for every test that serves them."""
    from inference_server.catalog import ModelError
    from inference_server.loader import load_models

    try:
        loaded, _, _ = load_models(model_settings)
    except ModelError as exc:
        pytest.fail(f"{exc} (run `make models-test`)", pytrace=False)
    yield loaded
    loaded.close()
