"""The `parley` command: help everywhere, settings, file transcription."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from bench.audio import load_conversation
from bench.metrics import der, wer
from bench.reference import RefTurn, write_stm
from bench.server import running_server
from inference_server.audio import encode_wav

PARLEY = [sys.executable, "-m", "parley"]


def parley(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*PARLEY, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("command", [[], ["config"], ["inference"], ["transcribe"], ["models"],
                                     ["models", "pull"], ["models", "list"], ["up"], ["api"], ["agent"],
                                     ["bench"], ["bench", "captions"]])
def test_every_command_has_help(command):
    result = parley(*command, "--help")
    assert result.returncode == 0 and "Usage" in result.stdout


def test_config_prints_effective_settings_with_secrets_masked(tmp_path):
    result = parley("config", env={"PARLEY_INFERENCE_TOKEN": "hunter2", "PARLEY_DATA_DIR": str(tmp_path),
                                   "PARLEY_INFERENCE_PORT": "9123"})
    settings = json.loads(result.stdout)
    assert settings["inference_token"] == "********" and "hunter2" not in result.stdout
    assert settings["data_dir"] == str(tmp_path) and settings["inference_port"] == 9123


def test_a_missing_model_is_one_clear_line(tmp_path):
    audio = tmp_path / "a.wav"
    audio.write_bytes(encode_wav(np.zeros(16000, np.int16), 16000))
    result = parley("transcribe", str(tmp_path / "nope.wav"))
    assert result.returncode != 0 and "does not exist" in _unboxed(result.stderr)
    result = parley("transcribe", str(audio), env={"PARLEY_DATA_DIR": str(tmp_path / "empty")})
    assert result.returncode == 1
    assert "parley models pull" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_unreadable_reference_is_one_clear_line(tmp_path):
    audio = tmp_path / "a.wav"
    audio.write_bytes(encode_wav(np.zeros(16000, np.int16), 16000))
    bad = tmp_path / "ref.rttm"
    bad.write_text("SPEAKER a 1 start 1.0 <NA> <NA> x <NA> <NA>\n")
    result = parley("transcribe", str(audio), "--reference", str(bad))
    assert result.returncode == 1 and "ref.rttm:1: not an RTTM SPEAKER line" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _unboxed(text: str) -> str:
    """Click's usage error as one line: rich wraps it in a box as wide as the terminal."""
    return " ".join(text.replace("│", " ").split())


def test_an_undecodable_file_is_one_clear_line(tmp_path):
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF but not audio" * 10)
    result = parley("transcribe", str(audio))
    assert result.returncode == 1 and "could not decode" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_transcribe_in_process_gives_speakers_and_emotions(audio_cache, model_settings, tmp_path):
    conversation = load_conversation("short", audio_cache)
    stm = tmp_path / "short.stm"
    write_stm(stm, "short", [RefTurn(t.start, t.end, t.speaker, t.text) for t in conversation.turns])
    result = parley("transcribe", str(conversation.path), "--format", "json", "--reference", str(stm),
                    env={"PARLEY_DATA_DIR": str(model_settings.data_dir), "PARLEY_LLM_MODEL": model_settings.llm_model})
    assert result.returncode == 0, result.stderr
    transcript = json.loads(result.stdout)
    # The scores on stderr are those of the transcript on stdout: DER with no collar, WER.
    scores = re.search(r"against short.stm: DER ([\d.]+)%.*WER ([\d.]+)%; finals (\d+)", result.stderr)
    assert scores, result.stderr
    expected_der = der(conversation.turns, transcript["segments"], collar=0.0).der
    assert float(scores[1]) == pytest.approx(100 * expected_der, abs=0.06)
    assert float(scores[2]) == pytest.approx(100 * wer(conversation.text, transcript["text"]), abs=0.06)
    assert int(scores[3]) == len(transcript["segments"])
    assert set(transcript) == {"duration", "text", "segments"}
    assert transcript["duration"] == pytest.approx(conversation.duration, abs=0.05)
    assert wer(conversation.text, transcript["text"]) <= 0.25
    speakers = [s["speaker"] for s in transcript["segments"]]
    assert speakers[0] == "S1" and set(speakers) == {"S1", "S2"}
    for segment in transcript["segments"]:
        assert set(segment) == {"start", "end", "speaker", "text", "emotion", "emotion_score"}
        assert 0.0 <= segment["emotion_score"] <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("fmt,marker,second_voice", [("srt", "-->", "S2: "), ("vtt", "WEBVTT", "<v S2>"),
                                                    ("txt", "[S1]", "[S2]")])
def test_transcribe_against_a_running_server(audio_cache, model_settings, models, fmt, marker, second_voice):
    conversation = load_conversation("short", audio_cache)
    with running_server(model_settings, models) as url:
        result = parley("transcribe", str(conversation.path), "--format", fmt, "--url", url)
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout and second_voice in result.stdout


def test_agent_explains_where_embedded_agents_run():
    result = parley("agent")
    assert result.returncode == 1 and "parley agent --livekit" in result.stderr
    result = parley("agent", "--livekit", env={"PARLEY_LIVEKIT_URL": ""})
    assert result.returncode == 1 and "PARLEY_LIVEKIT_URL" in result.stderr


def test_a_livekit_worker_without_the_shared_database_refuses_to_start():
    livekit = {"PARLEY_LIVEKIT_URL": "ws://livekit:7880", "PARLEY_LIVEKIT_API_KEY": "key",
               "PARLEY_LIVEKIT_API_SECRET": "secret", "PARLEY_DATABASE_URL": ""}
    result = parley("agent", "--livekit", env=livekit)
    assert result.returncode == 1 and "PARLEY_DATABASE_URL" in result.stderr and "database" in result.stderr


def test_a_livekit_url_without_credentials_is_a_one_line_settings_error():
    result = parley("config", env={"PARLEY_LIVEKIT_URL": "ws://livekit:7880", "PARLEY_LIVEKIT_API_KEY": ""})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "invalid settings" in result.stderr and "PARLEY_LIVEKIT_API_KEY" in result.stderr


def test_transcribe_against_a_dead_server_is_one_line(tmp_path):
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF")
    result = parley("transcribe", str(audio), "--url", "http://127.0.0.1:9")
    assert result.returncode == 1 and "cannot reach the inference server" in result.stderr
    assert "Traceback" not in result.stderr

