"""The agent stays lightweight: importing it (and the API that hosts embedded rooms) loads no model code."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "faster_whisper", "ctranslate2", "onnxruntime", "llama_cpp", "resemblyzer",
         "sentence_transformers", "piper", "hibari", "transformers")


def test_importing_the_agent_and_its_transport_loads_no_model_code():
    modules = ["agent", "agent.room_agent", "agent.transcriber", "agent.transports.embedded", "api.app", "parley.compose"]
    code = ("import json, sys\n" + "".join(f"import {m}\n" for m in modules)
            + f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
