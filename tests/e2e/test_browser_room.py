"""Real Chromium in a voice room: two people speak, both pages caption both, under the right names.

Chromium never offers loopback ICE candidates, so each scenario runs in a private network
namespace made here (lo plus a veth pair with 10.213.0.1/24): the browsers and the server
pair over an address that cannot leave this machine. Screenshots go to artifacts/e2e/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.audio import synthesize_conversation
from tests.heard import letter_error_rate

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
PRIVATE_NETWORK = ("ip link set lo up && ip link add v0 type veth peer name v1 && "
                   "ip addr add 10.213.0.1/24 dev v0 && ip link set v0 up && ip link set v1 up")
SENTENCES = {
    "Ann": ("espeak:en-gb+f2", "Hello everyone, I think we should start the meeting right now."),
    "Bob": ("piper:en_US-joe-medium", "Thank you, I will send the budget report before lunch."),
}
LEAD_S = {"Ann": 8.0, "Bob": 16.0}  # both browsers are connected by then; the two never overlap
MAX_LETTER_ERRORS = 0.2  # espeak's voice through Opus and Chromium's audio processing
HEARD_RMS = 0.01  # the other person's voice reached this page's speakers


def _missing_requirements() -> str | None:
    if os.geteuid() != 0:
        return "needs root for a private network namespace (unshare -n)"
    for tool in ("/usr/bin/chromium", "unshare", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


MISSING = _missing_requirements()
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


def run_in_private_network(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    command = ["unshare", "-n", "bash", "-c", f'{PRIVATE_NETWORK} && exec "$@"', "private-network", *args]
    return subprocess.run(command, check=False, cwd=ROOT, timeout=timeout, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def run_scenario(out: Path, participants: dict[str, Path | None], *extra: str, timeout: float = 420) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "tests/e2e/browser_room.py", "--out", str(out), *extra]
    for name, wav in participants.items():
        args += ["--participant", f"{name}={wav or ''}"]
    done = run_in_private_network(args, timeout)
    assert done.returncode == 0, f"scenario failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads((out / "result.json").read_text())


@pytest.fixture(scope="module")
def microphones(tmp_path_factory) -> dict[str, Path]:
    """One WAV per speaker: silence, one sentence, then a minute of silence. Chromium loops its
    fake microphone file; the long tail keeps the sentence from coming round again."""
    folder = tmp_path_factory.mktemp("microphones")
    return {name: synthesize_conversation([(name, text)], folder / f"{name.lower()}.wav", voices={name: voice},
                                          lead_s=LEAD_S[name], tail_s=60.0, sample_rate=48000).path
            for name, (voice, text) in SENTENCES.items()}


def test_two_browsers_caption_each_other_under_their_names(microphones):
    result = run_scenario(ARTIFACTS, {**microphones, "Cleo": None})
    pages = result["participants"]

    for name in SENTENCES:
        page = pages[name]
        assert page["state"] == "Connected", page
        assert {"Ann", "Bob", "Parley"} <= set(page["people"]), page["people"]
        assert page["peak_heard"] > HEARD_RMS, f"{name} did not hear the other participant"
        for speaker, (_, sentence) in SENTENCES.items():
            said = " ".join(c["text"] for c in page["captions"] if c["speaker"] == speaker)
            assert said, f"{name}'s page shows no caption from {speaker}: {page['captions']}"
            assert letter_error_rate(sentence, said) <= MAX_LETTER_ERRORS, \
                f"{name}'s page captions {speaker} as {said!r}"
        assert all(c["emotion"] for c in page["captions"]), "every final shows an emotion badge"

    # A browser without a microphone is told so, and the room carries on without it.
    assert pages["Cleo"]["join_error"] == "No microphone found. Connect a microphone and try again."
    assert (ARTIFACTS / "room-ann.png").stat().st_size > 10_000


def test_room_works_and_says_so_when_the_inference_server_is_down(microphones):
    out = ARTIFACTS / "inference-down"
    result = run_scenario(out, microphones, "--env", "PARLEY_INFERENCE_URL=http://127.0.0.1:9",
                          "--no-models", "--wait-captions", "0", "--hold", "22", timeout=180)
    for name, page in result["participants"].items():
        assert page["state"] == "Connected", page
        assert "Live captions are unavailable" in page["notice"], page
        assert page["peak_heard"] > HEARD_RMS, f"{name} did not hear the other participant"
        assert page["captions"] == []
