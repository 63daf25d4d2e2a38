"""API keys: `pk_<prefix>_<secret>`. The prefix finds the row; only sha256 of the whole key is
stored, so a database leak reveals no usable key. Keys carry scopes and can be revoked."""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "pk_"

SCOPES = {
    "rooms:read": "list rooms and members, get join tokens",
    "rooms:write": "create and delete rooms, invite and remove members",
    "sessions:read": "read session history, transcripts and exports",
    "sessions:write": "retitle and delete sessions",
    "memories:read": "list and search memories",
    "memories:write": "add, edit and delete memories",
    "speakers:read": "list enrolled voices",
    "speakers:write": "enroll and delete voices",
}
ALL_SCOPES = frozenset(SCOPES)


def new_api_key() -> tuple[str, str, str]:
    """(key to show once, prefix to store, hash to store)."""
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_key(key)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    if not key.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = key[len(KEY_PREFIX):].partition("_")
    return prefix if sep and len(prefix) == 12 and secret else None


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)
