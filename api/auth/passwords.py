"""Password hashing (argon2id) and generated one-time passwords. Hashing runs off the event
loop: argon2 is deliberately slow (~50 ms and 64 MiB per hash)."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Checked when the email is unknown, so that a login takes as long whether or not it exists.
_DECOY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """False for a wrong password, an unusable hash, or no hash at all (decoy check then)."""
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DECOY_HASH, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    return await asyncio.to_thread(check)
