"""Users, API keys and refresh tokens in SQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from .base import Actor
from .errors import Conflict, NotFound
from .records import ApiKey, Credentials, RefreshToken, StoredApiKey, User, utcnow
from .sql_base import SqlBase, checked_id, new_id, normalize_email

_USER = "id, email, display_name, is_admin, must_change_password, created_at"
_KEY = "id, user_id, name, prefix, scopes, created_at, expires_at, last_used_at, revoked_at"
_REFRESH = "id, user_id, family_id, created_at, expires_at, used_at, revoked_at"


class AccountQueries(SqlBase):
    async def create_user(self, email: str, display_name: str, password_hash: str | None, *, is_admin: bool = False,
                          must_change_password: bool = False, user_id: str | None = None) -> User:
        params = {"id": user_id or new_id(), "email": normalize_email(email), "name": display_name,
                  "hash": password_hash, "admin": is_admin, "change": must_change_password, "now": utcnow()}
        try:
            async with self.db.transaction() as tx:
                row = await tx.one(
                    "INSERT INTO users (id, email, display_name, password_hash, is_admin, must_change_password, "
                    f"created_at) VALUES (:id, :email, :name, :hash, :admin, :change, :now) RETURNING {_USER}", params)
        except Conflict:
            raise Conflict(f"an account with the email {params['email']!r} already exists") from None
        return User.model_validate(row)

    async def ensure_user(self, user_id: str, email: str, display_name: str) -> User:
        user_id = checked_id(user_id, "user")
        async with self.db.transaction() as tx:
            await tx.run("INSERT INTO users (id, email, display_name, created_at) VALUES (:id, :email, :name, :now) "
                         "ON CONFLICT (id) DO NOTHING",
                         {"id": user_id, "email": normalize_email(email) or user_id, "name": display_name,
                          "now": utcnow()})
            row = await tx.one(f"SELECT {_USER} FROM users WHERE id = :id", {"id": user_id})
        return User.model_validate(row)

    async def get_user(self, user_id: str) -> User | None:
        try:
            user_id = checked_id(user_id, "user")
        except NotFound:
            return None
        async with self.db.transaction() as tx:
            row = await tx.one(f"SELECT {_USER} FROM users WHERE id = :id", {"id": user_id})
        return User.model_validate(row) if row else None

    async def get_credentials(self, email: str) -> Credentials | None:
        async with self.db.transaction() as tx:
            row = await tx.one(f"SELECT {_USER}, password_hash FROM users WHERE email = :email",
                               {"email": normalize_email(email)})
        return Credentials.model_validate(row) if row else None

    async def count_users(self) -> int:
        async with self.db.transaction() as tx:
            row = await tx.one("SELECT count(*) AS n FROM users")
        return int(row["n"])

    async def set_password(self, actor: Actor, password_hash: str) -> None:
        async with self.db.transaction() as tx:
            changed = await tx.run("UPDATE users SET password_hash = :hash, must_change_password = :no WHERE id = :id",
                                   {"hash": password_hash, "no": False, "id": self._user_id(actor)})
        if not changed:
            raise NotFound("no such user")

    # --- API keys ------------------------------------------------------------------------

    async def create_api_key(self, actor: Actor, name: str, prefix: str, key_hash: str, scopes: Sequence[str],
                             expires_at: datetime | None) -> ApiKey:
        params = {"id": new_id(), "user": self._user_id(actor), "name": name, "prefix": prefix, "hash": key_hash,
                  "scopes": json.dumps(sorted(set(scopes))), "now": utcnow(), "expires": expires_at}
        async with self.db.transaction() as tx:
            row = await tx.one("INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, created_at, "
                               "expires_at) VALUES (:id, :user, :name, :prefix, :hash, :scopes, :now, :expires) "
                               f"RETURNING {_KEY}", params)
        return ApiKey.model_validate(row)

    async def list_api_keys(self, actor: Actor) -> list[ApiKey]:
        async with self.db.transaction() as tx:
            rows = await tx.all(f"SELECT {_KEY} FROM api_keys WHERE user_id = :user ORDER BY created_at",
                                {"user": self._user_id(actor)})
        return [ApiKey.model_validate(row) for row in rows]

    async def revoke_api_key(self, actor: Actor, key_id: str) -> ApiKey:
        params = {"id": checked_id(key_id, "API key"), "user": self._user_id(actor), "now": utcnow()}
        async with self.db.transaction() as tx:
            await tx.run("UPDATE api_keys SET revoked_at = :now WHERE id = :id AND user_id = :user "
                         "AND revoked_at IS NULL", params)
            row = await tx.one(f"SELECT {_KEY} FROM api_keys WHERE id = :id AND user_id = :user", params)
        if row is None:
            raise NotFound(f"no API key with id {key_id!r}")
        return ApiKey.model_validate(row)

    async def find_api_key(self, prefix: str) -> StoredApiKey | None:
        async with self.db.transaction() as tx:
            row = await tx.one(f"SELECT {_KEY}, key_hash FROM api_keys WHERE prefix = :prefix", {"prefix": prefix})
        return StoredApiKey.model_validate(row) if row else None

    async def touch_api_key(self, key_id: str, at: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.run("UPDATE api_keys SET last_used_at = :at WHERE id = :id", {"id": key_id, "at": at})

    # --- refresh tokens ------------------------------------------------------------------

    async def add_refresh_token(self, user_id: str, family_id: str, token_hash: str,
                                expires_at: datetime) -> RefreshToken:
        params = {"id": new_id(), "user": user_id, "family": family_id, "hash": token_hash, "now": utcnow(),
                  "expires": expires_at}
        async with self.db.transaction() as tx:
            row = await tx.one("INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, "
                               "expires_at) VALUES (:id, :user, :family, :hash, :now, :expires) "
                               f"RETURNING {_REFRESH}", params)
        return RefreshToken.model_validate(row)

    async def claim_refresh_token(self, token_hash: str, now: datetime) -> RefreshToken | None:
        async with self.db.transaction() as tx:
            row = await tx.one("UPDATE refresh_tokens SET used_at = :now WHERE token_hash = :hash "
                               "AND used_at IS NULL AND revoked_at IS NULL AND expires_at > :now "
                               f"RETURNING {_REFRESH}",
                               {"hash": token_hash, "now": now})
        return RefreshToken.model_validate(row) if row else None

    async def find_refresh_token(self, token_hash: str) -> RefreshToken | None:
        async with self.db.transaction() as tx:
            row = await tx.one(f"SELECT {_REFRESH} FROM refresh_tokens WHERE token_hash = :hash", {"hash": token_hash})
        return RefreshToken.model_validate(row) if row else None

    async def revoke_refresh_family(self, family_id: str, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.run("UPDATE refresh_tokens SET revoked_at = :now WHERE family_id = :family AND revoked_at IS NULL",
                         {"family": family_id, "now": now})

    async def revoke_user_refresh_tokens(self, user_id: str, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.run("UPDATE refresh_tokens SET revoked_at = :now WHERE user_id = :user AND revoked_at IS NULL",
                         {"user": user_id, "now": now})
