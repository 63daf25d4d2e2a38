from __future__ import annotations

import pytest

from agent.testing import FakeInferenceServer


@pytest.fixture
async def fake_inference():
    server = FakeInferenceServer([("hello from ann", "S1"), ("a second voice", "S2"), ("ann again", "S1")])
    await server.start()
    yield server
    await server.stop()
