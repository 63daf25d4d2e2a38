"""docker-compose.yml, the production layout: services, healthchecks, volumes, and environment wiring
(every variable documented in .env.example, every PARLEY_* variable a real setting). `docker compose
config` validates it too where the compose client is installed (it needs no engine)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from parley.process_needs import env_name, needs_for
from parley.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()
VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(:?[-?])?")


def _environment(service: str) -> dict[str, str]:
    return {key: str(value) for key, value in SERVICES[service].get("environment", {}).items()}


def _documented() -> dict[str, bool]:
    """Variables in .env.example -> whether they are set (True) or only shown commented out."""
    found = {}
    for line in ENV_EXAMPLE.splitlines():
        if match := re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=", line):
            found[match.group(2)] = match.group(1) is None
    return found


def test_the_production_layout_has_every_part_with_a_healthcheck():
    assert set(SERVICES) == {"livekit", "redis", "postgres", "inference", "agent", "api"}
    for name, service in SERVICES.items():
        assert service["healthcheck"]["test"][0] == "CMD", name
    inference = SERVICES["inference"]  # the shape the inference tests rely on
    assert "inference" in inference["command"] and "/health" in " ".join(inference["healthcheck"]["test"])


def test_inference_reserves_a_gpu_and_keeps_models_in_a_volume():
    inference = SERVICES["inference"]
    [device] = inference["deploy"]["resources"]["reservations"]["devices"]
    assert device["capabilities"] == ["gpu"] and device["count"] == 1
    assert "models:/data" in inference["volumes"] and _environment("inference")["PARLEY_DATA_DIR"] == "/data"
    assert set(COMPOSE["volumes"]) >= {"models", "pgdata"}
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]


def test_agents_are_livekit_workers_wired_to_livekit_redis_and_inference():
    agent = SERVICES["agent"]
    assert agent["command"] == ["parley", "agent", "--livekit"] and agent["deploy"]["replicas"] == 2
    env = _environment("agent")
    assert env["PARLEY_LIVEKIT_URL"] == "ws://livekit:7880"  # inside the compose network
    assert env["PARLEY_REDIS_URL"].startswith("redis://redis:6379")  # the inference registry
    assert env["PARLEY_INFERENCE_URL"] == "http://inference:8001"
    assert {k: v["condition"] for k, v in agent["depends_on"].items()} == {
        "livekit": "service_healthy", "inference": "service_healthy", "postgres": "service_healthy"}
    assert agent["depends_on"]["postgres"]["required"] is False  # absent with Supabase
    assert env["PARLEY_DATABASE_URL"] == _environment("api")["PARLEY_DATABASE_URL"]  # the API's rooms
    assert "ports" not in agent  # replicas: nothing to publish
    assert "8081" in " ".join(agent["healthcheck"]["test"])  # livekit-agents' worker health port


def test_the_api_serves_the_page_and_hands_browsers_the_public_livekit_url():
    api = SERVICES["api"]
    env = _environment("api")
    assert env["PARLEY_LIVEKIT_URL"].startswith("${LIVEKIT_PUBLIC_URL")
    assert "@postgres:5432/" in env["PARLEY_DATABASE_URL"] and env["PARLEY_DATABASE_URL"].startswith(
        "${PARLEY_DATABASE_URL:-")  # Supabase's URL replaces the local one
    assert api["depends_on"]["postgres"] == {"condition": "service_healthy", "required": False}
    assert SERVICES["postgres"]["profiles"] == ["local-postgres"] and "local-postgres" in ENV_EXAMPLE
    assert api["ports"] == ["${PARLEY_PORT:-8000}:8000"]


def test_livekit_uses_its_config_file_and_publishes_its_ports():
    livekit = SERVICES["livekit"]
    assert "./deploy/livekit.yaml:/etc/livekit.yaml:ro" in livekit["volumes"]
    assert livekit["command"][:2] == ["--config", "/etc/livekit.yaml"]
    config = yaml.safe_load((ROOT / "deploy" / "livekit.yaml").read_text())
    rtc = config["rtc"]
    assert f"{config['port']}:{config['port']}" in livekit["ports"]
    assert f"{rtc['tcp_port']}:{rtc['tcp_port']}" in livekit["ports"]
    udp = f"{rtc['port_range_start']}-{rtc['port_range_end']}"
    assert f"{udp}:{udp}/udp" in livekit["ports"]
    assert config["redis"]["address"] == "redis:6379"
    assert "keys" not in config and "LIVEKIT_KEYS" in livekit["environment"]  # secrets stay in .env


def test_every_variable_is_documented_and_every_parley_variable_is_a_setting():
    documented = _documented()
    used = {match.group(1): match.group(2) for match in VARIABLE.finditer(COMPOSE_TEXT)}
    assert set(used) <= set(documented), set(used) - set(documented)
    assert set(documented) - {"COMPOSE_PROFILES"} <= set(used), set(documented) - set(used)
    required = {name for name, kind in used.items() if kind == ":?"}
    assert all(documented[name] for name in required), "required variables are set in .env.example"
    fields = {f"PARLEY_{name.upper()}" for name in Settings.model_fields}
    for service in SERVICES:
        unknown = {key for key in _environment(service) if key.startswith("PARLEY_")} - fields
        assert not unknown, f"{service}: {unknown} are not Parley settings (a typo is silently ignored)"


def test_docker_compose_accepts_the_file():
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) and subprocess.run([*command, "version"], capture_output=True).returncode == 0:
            break
    else:
        print("SKIPPED: no docker compose client here (`docker compose version` fails)")
        pytest.skip("the docker compose client is not installed; the file was checked by parsing only")
    done = subprocess.run([*command, "--env-file", ".env.example", "-f", "docker-compose.yml", "config", "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _image_extras(dockerfile: str) -> set[str]:
    """The extras of the project's own `pip install … ".[a,b]"` in the image."""
    installs = re.findall(r'pip install[^\n]*?"?\.\[([a-z,\s-]+)\]"?', dockerfile)
    assert installs, "the Dockerfile does not install the project with its extras"
    return {extra.strip() for extras in installs for extra in extras.split(",")}


def _given(value: str) -> bool:
    """A compose value that is set when the service starts: a literal, `${X:?…}` (compose refuses
    to start without X) or `${X:-default}` with a non-empty default."""
    value = value.strip()
    if not value:
        return False
    whole = re.fullmatch(r"\$\{[A-Z][A-Z0-9_]*(?::?([-?])(.*))?\}", value)
    if not whole:
        return True
    kind, default = whole.groups()
    return kind == "?" or (kind == "-" and bool(default.strip()))


def deployment_problems(services: dict, dockerfile: str) -> list[str]:
    """Each Parley service's command has its extras in the image and every setting it requires."""
    extras, problems = _image_extras(dockerfile), []
    for name, service in services.items():
        command = service.get("command") or []
        if command[:1] != ["parley"]:
            continue
        needs = needs_for(command)
        if missing := needs.extras - extras:
            problems.append(f"{name}: the image lacks the {sorted(missing)} extras of `{' '.join(command)}`")
        environment = {key: str(value) for key, value in (service.get("environment") or {}).items()}
        for field in needs.settings:
            if not _given(environment.get(env_name(field), "")):
                problems.append(f"{name}: `{' '.join(command)}` requires {env_name(field)}")
    return problems


def test_every_service_has_its_extras_in_the_image_and_every_setting_it_requires():
    assert deployment_problems(SERVICES, DOCKERFILE) == []


def test_the_deployment_check_catches_a_missing_setting_or_extra():
    without_database = {name: {**service, "environment": {k: v for k, v in service.get("environment", {}).items()
                                                          if k != "PARLEY_DATABASE_URL"}}
                        for name, service in SERVICES.items()}
    assert deployment_problems(without_database, DOCKERFILE) == [
        "agent: `parley agent --livekit` requires PARLEY_DATABASE_URL"]
    empty_default = {**SERVICES, "agent": {**SERVICES["agent"], "environment": {
        **SERVICES["agent"]["environment"], "PARLEY_LIVEKIT_API_KEY": "${LIVEKIT_API_KEY:-}"}}}
    assert deployment_problems(empty_default, DOCKERFILE) == [
        "agent: `parley agent --livekit` requires PARLEY_LIVEKIT_API_KEY"]
    old_image = DOCKERFILE.replace(".[inference,api,livekit]", ".[inference,api]")
    assert deployment_problems(SERVICES, old_image) == [
        "agent: the image lacks the ['livekit'] extras of `parley agent --livekit`"]
