"""Start-up: /health is ready only when every model loaded; a missing model is reported, not a crash."""

from __future__ import annotations

import time

import httpx
import yaml

from bench.server import running_server


def test_missing_models_keep_health_unready_with_the_fix(model_settings, tmp_path):
    settings = model_settings.model_copy(update={"data_dir": tmp_path})
    with running_server(settings) as url:
        deadline = time.monotonic() + 30
        while (health := httpx.get(f"{url}/health")).json()["status"] == "loading" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert health.status_code == 503 and health.json()["status"] == "error"
        assert "parley models pull" in health.json()["detail"]
        refused = httpx.post(f"{url}/v1/emotion", json={"texts": ["hi"]})
        assert refused.status_code == 503 and "parley models pull" in refused.json()["error"]["message"]


def test_prefill_warms_the_conversation(inference_url):
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Ana: hello there"}]
    response = httpx.post(f"{inference_url}/v1/chat/prefill", json={"messages": messages}, timeout=60)
    assert response.status_code == 200 and response.json()["prompt_tokens"] > 5
    bad = httpx.post(f"{inference_url}/v1/chat/prefill", json={"messages": []}, timeout=60)
    assert bad.status_code == 400


def test_compose_file_runs_the_inference_server_with_a_healthcheck():
    compose = yaml.safe_load(open("docker-compose.yml"))
    inference = compose["services"]["inference"]
    assert "inference" in inference["command"] and "/health" in " ".join(inference["healthcheck"]["test"])
