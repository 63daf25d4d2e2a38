"""Who is calling: login with refresh-token rotation, bearer authentication (access JWT,
Supabase JWT or API key), API keys, accounts, and the first-start admin."""

from __future__ import annotations

import logging
import secrets
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from parley.settings import Settings

from parley.store import Actor, Conflict, Store
from parley.store.records import ApiKey, User
from .api_keys import ALL_SCOPES, KEY_PREFIX, hash_key, matches, new_api_key, parse_prefix
from .passwords import MIN_PASSWORD_LENGTH, hash_password, one_time_password, verify_password
from .tokens import JwksCache, LocalTokens, SupabaseVerifier, TokenError, load_jwt_secret

log = logging.getLogger(__name__)
TOUCH_EVERY = timedelta(minutes=1)  # an API key's last_used_at is written at most this often


class AuthFailed(Exception):
    def __init__(self, message: str, *, status: int = 401, code: str = "unauthorized") -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


@dataclass(frozen=True)
class Principal:
    user: User
    via: Literal["password", "supabase", "api_key"]
    scopes: frozenset[str] = ALL_SCOPES
    api_key_id: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor.for_user(self.user.id)

    @property
    def rate_bucket(self) -> str:
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user.id}"


@dataclass(frozen=True)
class Login:
    user: User
    access_token: str
    expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime


def check_new_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= 1024:
        raise AuthFailed(f"a password needs at least {MIN_PASSWORD_LENGTH} characters", status=422,
                         code="weak_password")


class AuthService:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings, self.store = settings, store
        self.tokens = LocalTokens(load_jwt_secret(settings), access_ttl_s=settings.access_token_ttl_s,
                                  join_ttl_s=settings.join_token_ttl_s)
        self.supabase: SupabaseVerifier | None = None
        if settings.auth_mode == "supabase":
            secret = settings.supabase_jwt_secret
            self.supabase = SupabaseVerifier(secret.get_secret_value().encode() if secret else None,
                                             JwksCache(settings.supabase_jwks_url) if settings.supabase_jwks_url
                                             else None, settings.supabase_jwt_audience)

    @property
    def local(self) -> bool:
        return self.settings.auth_mode == "local"

    async def ensure_admin(self) -> str | None:
        """On a first start with local accounts, create the admin: with PARLEY_ADMIN_PASSWORD
        when set, else with a one-time password printed once on the console (never logged).
        Returns the one-time password, or None."""
        if not self.local or await self.store.count_users():
            return None
        preset = self.settings.admin_password.get_secret_value() if self.settings.admin_password else None
        if preset:
            check_new_password(preset)
        password = preset or one_time_password()
        try:
            await self.store.create_user(self.settings.admin_email, "Admin", await hash_password(password),
                                         is_admin=True, must_change_password=not preset)
        except Conflict:  # another API process got there first
            return None
        if preset:
            log.info("created the admin account %s with PARLEY_ADMIN_PASSWORD", self.settings.admin_email)
            return None
        rule = "=" * 64
        print(f"\n{rule}\n  Parley: first start. Open http://{self.settings.host}:{self.settings.port}/"
              " and sign in with\n"
              f"    email:    {self.settings.admin_email}\n"
              f"    password: {password}\n"
              "  This one-time password is shown only now; you choose a new one at sign-in.\n"
              f"{rule}\n", file=sys.stderr, flush=True)
        return password

    # --- sign-in ------------------------------------------------------------------------

    def _require_local(self) -> None:
        if not self.local:
            raise AuthFailed("local sign-in is off: sign in with Supabase Auth and send its access token",
                             status=400, code="supabase_mode")

    async def login(self, email: str, password: str) -> Login:
        self._require_local()
        credentials = await self.store.get_credentials(email)
        if not await verify_password(credentials.password_hash if credentials else None, password):
            log.info("sign-in refused for %s", email.strip().lower()[:100])
            raise AuthFailed("wrong email or password", code="bad_credentials")
        user = User.model_validate(credentials.model_dump())
        log.info("signed in: user %s", user.id)
        return await self._new_login(user, family_id=str(uuid.uuid4()))

    async def _new_login(self, user: User, family_id: str) -> Login:
        access, expires = self.tokens.issue_access(user.id)
        refresh = secrets.token_urlsafe(32)
        row = await self.store.add_refresh_token(
            user.id, family_id, hash_key(refresh),
            datetime.now(UTC) + timedelta(seconds=self.settings.refresh_token_ttl_s))
        return Login(user, access, expires, refresh, row.expires_at)

    async def refresh(self, refresh_token: str) -> Login:
        """Rotate: the presented token is spent and a new one issued in its family. Presenting a
        spent token again means it was stolen (or replayed): the whole family is revoked."""
        self._require_local()
        now, token_hash = datetime.now(UTC), hash_key(refresh_token)
        claimed = await self.store.claim_refresh_token(token_hash, now)
        if claimed is None:
            known = await self.store.find_refresh_token(token_hash)
            if known is not None and known.used_at is not None and known.revoked_at is None:
                await self.store.revoke_refresh_family(known.family_id, now)
                log.warning("refresh token reused for user %s: family revoked", known.user_id)
                raise AuthFailed("this refresh token was already used; sign in again", code="refresh_reused")
            reason = "has expired" if known is not None and known.expires_at <= now else "is not valid"
            raise AuthFailed(f"the refresh token {reason}; sign in again", code="refresh_invalid")
        user = await self.store.get_user(claimed.user_id)
        if user is None:
            raise AuthFailed("the account no longer exists")
        return await self._new_login(user, claimed.family_id)

    async def logout(self, refresh_token: str) -> None:
        known = await self.store.find_refresh_token(hash_key(refresh_token))
        if known is not None:
            await self.store.revoke_refresh_family(known.family_id, datetime.now(UTC))

    async def change_password(self, principal: Principal, current: str, new: str) -> Login:
        """Signs out every other login of the account and returns a fresh one."""
        self._require_local()
        check_new_password(new)
        credentials = await self.store.get_credentials(principal.user.email)
        if credentials is None or not await verify_password(credentials.password_hash, current):
            raise AuthFailed("the current password is wrong", status=403, code="bad_credentials")
        await self.store.set_password(principal.actor, await hash_password(new))
        await self.store.revoke_user_refresh_tokens(principal.user.id, datetime.now(UTC))
        user = await self.store.get_user(principal.user.id)
        return await self._new_login(user, family_id=str(uuid.uuid4()))

    async def create_account(self, email: str, display_name: str, password: str | None) -> tuple[User, str | None]:
        """(user, one-time password when none was given: the new user must change it)."""
        self._require_local()
        generated = None
        if password is None:
            password = generated = one_time_password()
        check_new_password(password)
        user = await self.store.create_user(email, display_name, await hash_password(password),
                                            must_change_password=generated is not None)
        return user, generated

    # --- every request ------------------------------------------------------------------

    async def authenticate(self, bearer: str) -> Principal:
        if bearer.startswith(KEY_PREFIX):
            return await self._api_key(bearer)
        try:
            if self.supabase is not None:
                external = await self.supabase.verify(bearer)
                user = await self.store.ensure_user(external.user_id, external.email, external.name)
                return Principal(user, "supabase")
            user = await self.store.get_user(self.tokens.verify_access(bearer))
        except TokenError as exc:
            raise AuthFailed(str(exc), code="invalid_token") from None
        if user is None:
            raise AuthFailed("the account no longer exists", code="invalid_token")
        return Principal(user, "password")

    async def _api_key(self, key: str) -> Principal:
        prefix = parse_prefix(key)
        stored = await self.store.find_api_key(prefix) if prefix else None
        if stored is None or not matches(key, stored.key_hash):
            raise AuthFailed("the API key is not valid", code="invalid_api_key")
        now = datetime.now(UTC)
        if stored.revoked_at is not None:
            raise AuthFailed("the API key has been revoked", code="invalid_api_key")
        if stored.expires_at is not None and stored.expires_at <= now:
            raise AuthFailed("the API key has expired", code="invalid_api_key")
        user = await self.store.get_user(stored.user_id)
        if user is None:
            raise AuthFailed("the account no longer exists", code="invalid_api_key")
        if stored.last_used_at is None or now - stored.last_used_at > TOUCH_EVERY:
            await self.store.touch_api_key(stored.id, now)
        return Principal(user, "api_key", frozenset(stored.scopes), stored.id)

    async def create_api_key(self, principal: Principal, name: str, scopes: set[str],
                             expires_in_days: int | None) -> tuple[str, ApiKey]:
        """(the key, shown to the user once; its stored record)."""
        key, prefix, key_hash = new_api_key()
        expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
        record = await self.store.create_api_key(principal.actor, name, prefix, key_hash, sorted(scopes), expires)
        log.info("API key %s created for user %s", record.id, principal.user.id)
        return key, record
