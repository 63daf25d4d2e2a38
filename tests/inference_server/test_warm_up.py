"""Every model is called once while the server loads: the first user's request pays no first-call
costs (the speaker encoder's first window took 1.3 s instead of 0.02 s in a traced room turn).
The real backends take the warm-up's inputs in every test that loads them (tests/conftest.py)."""

from __future__ import annotations

from inference_server.loader import ModelSet

CAPABILITIES = ("vad", "asr", "speaker", "embeddings", "emotion", "llm", "tts", "turn")


class Recorder:
    """Stands in for a model backend: records each call, returns nothing much."""

    def __init__(self, name: str, calls: list[tuple[str, str]]) -> None:
        self._name, self._calls = name, calls

    def __getattr__(self, method: str):
        def call(*args, **kwargs):
            self._calls.append((self._name, method))
            return []
        return call


def test_warm_up_calls_every_model_that_serves_requests():
    calls: list[tuple[str, str]] = []
    ModelSet(*(Recorder(name, calls) for name in CAPABILITIES)).warm_up()
    called = {name for name, _ in calls}
    # The LLM is warmed by the agents' own prefill of their system prompt when they join.
    assert called == set(CAPABILITIES) - {"llm"}
    assert ("asr", "recognize") in calls and ("tts", "synthesize") in calls


def test_warm_up_without_a_turn_model():
    calls: list[tuple[str, str]] = []
    ModelSet(*(Recorder(name, calls) for name in CAPABILITIES[:-1])).warm_up()
    assert "turn" not in {name for name, _ in calls}

