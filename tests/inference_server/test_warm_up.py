"""Every model is called once while the server loads: the first user's request pays no first-call
costs (the speaker encoder's first window took 1.3 s instead of 0.02 s in a traced room turn).
The real backends take the warm-up's inputs in every test that loads them (tests/conftest.py)."""

from __future__ import annotations

from inference_server.loader import ModelSet

CAPABILITIES = ("vad", "asr", "speaker", "embeddings", "emotion", "llm", "tts", "turn", "segmentation")


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


def test_warm_up_without_the_optional_models():
    calls: list[tuple[str, str]] = []
    ModelSet(*(Recorder(name, calls) for name in CAPABILITIES[:-2])).warm_up()
    assert {name for name, _ in calls} == set(CAPABILITIES) - {"llm", "turn", "segmentation"}



def test_an_optional_model_that_is_not_prepared_is_left_out_with_a_warning(tmp_path, caplog):
    from inference_server.catalog import get_entry
    from inference_server.loader import _optional
    from parley.settings import Settings

    settings = Settings(data_dir=tmp_path)
    built = []
    with caplog.at_level("WARNING"):
        model = _optional(get_entry("pyannote-segmentation-3.0"), settings, lambda capability, build: build(),
                          lambda entry, path: built.append(path), "file transcription finds overlaps less well")
    assert model is None and not built
    assert "finds overlaps less well" in caplog.text and "parley models pull" in caplog.text
