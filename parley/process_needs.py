"""What each Parley process needs to run: the pip extras it imports and the settings it cannot
do without. The CLI refuses to start a process that lacks a setting; the deployment test checks
the image and docker-compose.yml against the same table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .settings import Settings


@dataclass(frozen=True)
class ProcessNeeds:
    extras: frozenset[str]
    settings: tuple[str, ...] = ()  # Settings fields that must be set (non-empty)
    why: str = ""


_NEEDS: dict[tuple[str, ...], ProcessNeeds] = {
    ("inference",): ProcessNeeds(frozenset({"inference"})),
    ("api",): ProcessNeeds(frozenset({"api"})),
    ("up",): ProcessNeeds(frozenset({"inference", "api"})),
    # The worker writes transcripts and memories of rooms the API created: into the API's own
    # database (a SQLite file in the worker's container would hold no rooms).
    ("agent", "--livekit"): ProcessNeeds(
        frozenset({"livekit", "api"}),
        ("livekit_url", "livekit_api_key", "livekit_api_secret", "database_url"),
        "a LiveKit worker joins rooms on the LiveKit server and keeps their transcripts in the API's database"),
}


def needs_for(command: Sequence[str]) -> ProcessNeeds:
    """The needs of `parley <subcommand> [options]`: the subcommand and its mode flags decide."""
    words = [word for word in command if word != "parley"]
    for key, needs in _NEEDS.items():
        if words[:1] == [key[0]] and all(flag in words for flag in key[1:]):
            return needs
    raise KeyError(f"no such Parley process: {' '.join(command)}")


def env_name(field: str) -> str:
    return f"PARLEY_{field.upper()}"


def missing_settings(settings: Settings, needs: ProcessNeeds) -> list[str]:
    """The environment variables of the needed settings that are empty, in table order."""
    missing = []
    for field in needs.settings:
        value = getattr(settings, field)
        value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        if not value:
            missing.append(env_name(field))
    return missing
