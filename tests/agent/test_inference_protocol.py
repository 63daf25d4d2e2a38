"""One inference protocol: the client, the pool and the scripted stand-in all satisfy `Inference`,
and agents name the protocol, so whichever a host hands them works."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from agent.inference_pool import FailoverStream, InferencePool
from agent.ports import Inference, TranscriptionStream
from agent.testing import ScriptedInference
from inference_server.client import InferenceClient, TranscriptionStreamClient

AGENT = Path(__file__).resolve().parents[2] / "agent"
MEMBERS = [name for name, value in vars(Inference).items() if inspect.isfunction(value) and not name.startswith("_")]
STREAM_MEMBERS = [name for name, value in vars(TranscriptionStream).items()
                  if inspect.isfunction(value) and (name == "__aiter__" or not name.startswith("_"))]
UNREACHABLE = "http://127.0.0.1:9"  # nothing is asked of it


def _call_for(signature: inspect.Signature) -> tuple[list[object], dict[str, object]]:
    """Arguments for every parameter the protocol names: positional without default, else by keyword."""
    args: list[object] = []
    kwargs: dict[str, object] = {}
    for name, parameter in list(signature.parameters.items())[1:]:  # past self
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.kind is parameter.POSITIONAL_OR_KEYWORD and parameter.default is parameter.empty:
            args.append(None)
        else:
            kwargs[name] = None
    return args, kwargs


@pytest.mark.parametrize("make", [lambda: InferenceClient(UNREACHABLE), lambda: InferencePool([UNREACHABLE]),
                                  ScriptedInference], ids=["client", "pool", "scripted"])
async def test_each_inference_takes_every_call_the_protocol_names(make):
    inference = make()
    try:
        assert isinstance(inference, Inference)
        assert MEMBERS and {"chat_stream", "speech", "prefill", "stream", "embed"} <= set(MEMBERS)
        for name in MEMBERS:
            declared = getattr(Inference, name)
            method = getattr(inference, name)
            args, kwargs = _call_for(inspect.signature(declared))
            inspect.signature(method).bind(*args, **kwargs)  # raises if a parameter is missing
            assert inspect.iscoroutinefunction(method) == inspect.iscoroutinefunction(declared), name
    finally:
        await inference.aclose()


@pytest.mark.parametrize("stream", [TranscriptionStreamClient, FailoverStream])
def test_each_transcription_stream_takes_every_call_the_protocol_names(stream):
    for name in STREAM_MEMBERS:
        declared, method = getattr(TranscriptionStream, name), getattr(stream, name)
        args, kwargs = _call_for(inspect.signature(declared))
        inspect.signature(method).bind(None, *args, **kwargs)  # the class's function: self too
        assert inspect.iscoroutinefunction(method) == inspect.iscoroutinefunction(declared), name


def test_agents_name_the_protocol_and_only_the_pool_builds_clients():
    importers = []
    for path in AGENT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and any(alias.name == "InferenceClient" for alias in node.names):
                importers.append(path.relative_to(AGENT).as_posix())
    assert importers == ["inference_pool.py"]
