"""Signed tokens: Parley's own access and join tokens (HS256), and Supabase Auth's, verified locally.

Each kind has its own audience, so a token of one kind is never accepted as another. Error
messages say what is wrong with a token and never echo it.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt

from parley.settings import Settings

ISSUER = "parley"
ACCESS_AUDIENCE = "parley-api"
JOIN_AUDIENCE = "parley-join"
LEEWAY_S = 10
MIN_SECRET_BYTES = 32
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "ES256", "EdDSA"})


class TokenError(Exception):
    """Why a token was refused; safe to show."""


def load_jwt_secret(settings: Settings) -> bytes:
    """PARLEY_JWT_SECRET, or a secret generated on first start and kept in data_dir/jwt_secret
    (mode 0600) so that tokens survive restarts."""
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value().encode()
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"PARLEY_JWT_SECRET must be at least {MIN_SECRET_BYTES} characters")
        return secret
    path = settings.data_dir / "jwt_secret"
    if not path.exists():
        _create_secret_file(path)
    return path.read_bytes().strip()


def _create_secret_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".jwt_secret.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(48))
    try:
        os.link(draft, path)  # atomic, and fails if another process won the race: keep theirs
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def decode(token: str, key, *, algorithms: list[str], audience: str, issuer: str | None = None,
           required: tuple[str, ...] = ("exp", "sub")) -> dict:
    try:
        return jwt.decode(token, key, algorithms=algorithms, audience=audience, issuer=issuer, leeway=LEEWAY_S,
                          options={"require": list(required)})
    except jwt.ExpiredSignatureError:
        raise TokenError("the token has expired") from None
    except jwt.InvalidAudienceError:
        raise TokenError("the token is not meant for this service (wrong audience)") from None
    except jwt.InvalidIssuerError:
        raise TokenError("the token was issued by someone else") from None
    except jwt.InvalidSignatureError:
        raise TokenError("the token's signature is invalid") from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenError(f"the token lacks the {exc.claim!r} claim") from None
    except jwt.InvalidAlgorithmError:
        raise TokenError("the token is signed with an algorithm that is not accepted") from None
    except jwt.InvalidTokenError:
        raise TokenError("the token is malformed") from None


def _expiry(ttl_s: int) -> datetime:
    return datetime.fromtimestamp(int(time.time()) + ttl_s, UTC)


@dataclass(frozen=True)
class JoinClaims:
    room: str
    user_id: str
    name: str


class LocalTokens:
    """Access tokens (short-lived, for the API) and embedded join tokens (one room, minutes)."""

    def __init__(self, secret: bytes, *, access_ttl_s: int, join_ttl_s: int) -> None:
        self._secret, self.access_ttl_s, self.join_ttl_s = secret, access_ttl_s, join_ttl_s

    def _sign(self, claims: dict, ttl_s: int) -> tuple[str, datetime]:
        expires = _expiry(ttl_s)
        claims |= {"iss": ISSUER, "iat": int(time.time()), "exp": expires, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self._secret, algorithm="HS256"), expires

    def issue_access(self, user_id: str) -> tuple[str, datetime]:
        return self._sign({"aud": ACCESS_AUDIENCE, "sub": user_id}, self.access_ttl_s)

    def verify_access(self, token: str) -> str:
        """The user id of a valid access token."""
        return decode(token, self._secret, algorithms=["HS256"], audience=ACCESS_AUDIENCE, issuer=ISSUER)["sub"]

    def issue_join(self, room: str, user_id: str, name: str) -> tuple[str, datetime]:
        return self._sign({"aud": JOIN_AUDIENCE, "sub": user_id, "room": room, "name": name}, self.join_ttl_s)

    def verify_join(self, token: str, room: str) -> JoinClaims:
        """For the embedded signalling endpoint: a valid join token for exactly this room."""
        claims = decode(token, self._secret, algorithms=["HS256"], audience=JOIN_AUDIENCE, issuer=ISSUER,
                        required=("exp", "sub", "room", "name"))
        if claims["room"] != room:
            raise TokenError("this join token is for another room")
        return JoinClaims(room=room, user_id=claims["sub"], name=claims["name"])


class JwksCache:
    """Supabase's signing keys. `_fetch` is Supabase mode's one network seam: an HTTP GET of the
    project's JWKS URL. Keys are cached; an unknown key id (key rotation) triggers a refetch, at
    most once per `min_refetch_s`, so forged key ids cannot make us hammer the URL."""

    def __init__(self, url: str, *, ttl_s: float = 600.0, min_refetch_s: float = 30.0, timeout_s: float = 5.0) -> None:
        self.url, self.ttl_s, self.min_refetch_s, self.timeout_s = url, ttl_s, min_refetch_s, timeout_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")

    async def _fetch(self) -> dict:
        async with httpx.AsyncClient(timeout=self.timeout_s) as http:
            response = await http.get(self.url)
            response.raise_for_status()
            return response.json()

    async def key(self, kid: str | None) -> jwt.PyJWK:
        age = time.monotonic() - self._fetched_at
        if age > self.ttl_s or (kid not in self._keys and age > self.min_refetch_s):
            try:
                keys = jwt.PyJWKSet.from_dict(await self._fetch()).keys
            except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as exc:
                if not self._keys:
                    raise TokenError("cannot fetch the signing keys to check the token: "
                                     f"{type(exc).__name__}") from None
            else:
                self._keys = {k.key_id: k for k in keys if k.key_id}
                self._fetched_at = time.monotonic()
        if kid not in self._keys:
            raise TokenError("the token is signed with an unknown key")
        return self._keys[kid]


@dataclass(frozen=True)
class ExternalUser:
    user_id: str
    email: str
    name: str


class SupabaseVerifier:
    """Supabase Auth access tokens: HS256 with the project's JWT secret, or asymmetric keys from its JWKS."""

    def __init__(self, secret: bytes | None, jwks: JwksCache | None, audience: str = "authenticated") -> None:
        if secret is None and jwks is None:
            raise ValueError("Supabase mode needs PARLEY_SUPABASE_JWT_SECRET or PARLEY_SUPABASE_JWKS_URL")
        self._secret, self._jwks, self.audience = secret, jwks, audience

    async def verify(self, token: str) -> ExternalUser:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenError("the token is malformed") from None
        algorithm = header.get("alg")
        if algorithm == "HS256" and self._secret is not None:
            key = self._secret
        elif algorithm in ASYMMETRIC_ALGORITHMS and self._jwks is not None:
            jwk = await self._jwks.key(header.get("kid"))
            if jwk.algorithm_name != algorithm:
                raise TokenError("the token's algorithm does not match its key")
            key = jwk
        else:
            raise TokenError("the token is signed with an algorithm that is not accepted")
        claims = decode(token, key, algorithms=[algorithm], audience=self.audience)
        try:
            user_id = str(uuid.UUID(claims["sub"]))
        except (ValueError, TypeError, AttributeError):
            raise TokenError("the token's subject is not a Supabase user id") from None
        email = str(claims.get("email") or "")
        metadata = claims.get("user_metadata") if isinstance(claims.get("user_metadata"), dict) else {}
        name = str(metadata.get("full_name") or metadata.get("name") or email.partition("@")[0] or "user")[:40]
        return ExternalUser(user_id=user_id, email=email, name=name)


def livekit_token(settings: Settings, room: str, identity: str, name: str) -> tuple[str, datetime]:
    """A LiveKit access token that can join this one room only, as this identity."""
    from livekit import api

    assert settings.livekit_api_secret is not None
    ttl = min(settings.livekit_token_ttl_s, 3600)
    token = (api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret.get_secret_value())
             .with_identity(identity).with_name(name)
             .with_grants(api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True,
                                          can_publish_data=True))
             .with_ttl(timedelta(seconds=ttl)).to_jwt())
    return token, _expiry(ttl)
