"""One real model set per test session, served by real inference servers on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.server import running_server as serve
from inference_server.loader import ModelSet
from parley.settings import Settings


@pytest.fixture(scope="module")
def server_url(model_settings: Settings, models: ModelSet) -> Iterator[str]:
    with serve(model_settings, models) as url:
        yield url

