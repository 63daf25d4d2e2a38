"""Real Chromium talks to the assistant: a spoken question gets a spoken, captioned answer in the page.

The scenario runs in a private network namespace (see test_browser_room.py) with the default
CPU LLM; artifacts (screenshot, the recorded reply audio) go to artifacts/e2e/voice/.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from bench.audio import synthesize_conversation

from .test_browser_room import ARTIFACTS, MISSING, run_in_private_network

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

# Not "the capital of France": after WebRTC's Opus (Chromium's or aiortc's), Whisper tiny.en
# hears "France" as "friends"; the assistant then answers that question.
QUESTION = "How many legs does a spider have?"
ANSWER = re.compile(r"\b(eight|8)\b")
HEARD_RMS = 0.01


def test_a_spoken_question_gets_a_spoken_captioned_answer(tmp_path):
    # Silence while the browser joins and the room's prompt is prefilled, the question, then quiet
    # (Chromium loops its fake microphone file; the long tail keeps the question from coming round).
    microphone = synthesize_conversation([("Ann", QUESTION)], tmp_path / "question.wav",
                                         voices={"Ann": "piper:en_US-joe-medium"}, lead_s=8.0, tail_s=90.0,
                                         sample_rate=48000).path
    out = ARTIFACTS / "voice"
    out.mkdir(parents=True, exist_ok=True)
    done = run_in_private_network([sys.executable, "tests/e2e/browser_voice.py", "--out", str(out),
                                   "--microphone", str(microphone)], timeout=420)
    assert done.returncode == 0, f"scenario failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    result = json.loads((out / "result.json").read_text())

    assert result["state"] == "Connected", result
    assert result["notice"] == "", result["notice"]
    asked = [c for c in result["captions"] if c["speaker"] == "Ann"]
    assert asked and "spider" in " ".join(c["text"] for c in asked).lower(), result["captions"]
    finals = [c["text"] for c in result["assistant_captions"] if not c["interim"]]
    assert finals and ANSWER.search(finals[-1].lower()), result["assistant_captions"]
    assert max(level for _, level in result["levels"]) > HEARD_RMS, "the page heard the reply"
    assert ANSWER.search(result["heard"].lower()), f"the reply audio the page received says: {result['heard']!r}"
