"""Access, join, Supabase and LiveKit tokens: what is accepted and why the rest is refused."""

from __future__ import annotations

import json
import stat
import time
import uuid
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from livekit.api import TokenVerifier
from pydantic import SecretStr

from api.auth.tokens import JwksCache, LocalTokens, SupabaseVerifier, TokenError, livekit_token, load_jwt_secret
from parley.settings import Settings

SECRET = b"s" * 40
SUPABASE_SECRET = b"super-secret-jwt-token-with-at-least-32-characters-long"


def tokens(**ttl) -> LocalTokens:
    return LocalTokens(SECRET, access_ttl_s=ttl.get("access", 900), join_ttl_s=ttl.get("join", 300))


def test_an_access_token_names_its_user():
    token, expires = tokens().issue_access("user-1")
    assert tokens().verify_access(token) == "user-1"
    assert 890 <= expires.timestamp() - time.time() <= 900


# Tokens are made when the test runs, not at collection: a suite that runs for minutes would
# otherwise hand in a join token that has since expired.
@pytest.mark.parametrize("make_token, reason", [
    (lambda: tokens(access=-60).issue_access("u")[0], "has expired"),
    (lambda: LocalTokens(b"x" * 40, access_ttl_s=900, join_ttl_s=300).issue_access("u")[0], "signature is invalid"),
    (lambda: tokens().issue_join("team", "u", "Ann")[0], "wrong audience"),
    (lambda: jwt.encode({"sub": "u", "aud": "parley-api", "iss": "parley"}, SECRET, algorithm="HS256"),
     "lacks the 'exp'"),
    (lambda: jwt.encode({"sub": "u", "aud": "parley-api", "iss": "elsewhere", "exp": time.time() + 3600}, SECRET,
                        algorithm="HS256"), "issued by someone else"),
    (lambda: jwt.encode({"sub": "u", "aud": "parley-api", "iss": "parley", "exp": time.time() + 3600}, None,
                        algorithm="none"), "algorithm that is not accepted"),
    (lambda: "garbage", "malformed"),
    (lambda: "a.b.c", "malformed"),
    (lambda: "", "malformed"),
])
def test_a_bad_access_token_is_refused_with_a_reason(make_token, reason):
    token = make_token()
    with pytest.raises(TokenError, match=reason) as refused:
        tokens().verify_access(token)
    assert not token or token not in str(refused.value)


def test_a_join_token_admits_one_person_to_one_room():
    token, _ = tokens().issue_join("team", "user-1", "Ann")
    claims = tokens().verify_join(token, "team")
    assert (claims.room, claims.user_id, claims.name) == ("team", "user-1", "Ann")
    with pytest.raises(TokenError, match="another room"):
        tokens().verify_join(token, "other")
    with pytest.raises(TokenError, match="wrong audience|lacks the 'room'"):  # an access token is no join token
        tokens().verify_join(tokens().issue_access("user-1")[0], "team")
    with pytest.raises(TokenError, match="expired"):
        tokens(join=-60).verify_join(tokens(join=-60).issue_join("team", "u", "A")[0], "team")


def test_the_generated_secret_is_private_and_survives_restarts(tmp_path):
    settings = Settings(data_dir=tmp_path, _env_file=None)
    first = load_jwt_secret(settings)
    assert len(first) >= 32 and load_jwt_secret(settings) == first
    assert stat.S_IMODE((tmp_path / "jwt_secret").stat().st_mode) == 0o600
    assert load_jwt_secret(Settings(data_dir=tmp_path, jwt_secret=SecretStr("c" * 32), _env_file=None)) == b"c" * 32
    with pytest.raises(ValueError, match="at least 32"):
        load_jwt_secret(Settings(data_dir=tmp_path, jwt_secret=SecretStr("short"), _env_file=None))


def supabase_claims(**changes) -> dict:
    claims = {"sub": str(uuid.uuid4()), "aud": "authenticated", "role": "authenticated", "email": "ann@example.test",
              "exp": int(time.time()) + 3600, "user_metadata": {"full_name": "Ann Example"}}
    return {**claims, **changes}


async def test_supabase_hs256_tokens_are_verified_with_the_project_secret():
    verifier = SupabaseVerifier(SUPABASE_SECRET, None)
    claims = supabase_claims()
    user = await verifier.verify(jwt.encode(claims, SUPABASE_SECRET, algorithm="HS256"))
    assert (user.user_id, user.email, user.name) == (claims["sub"], "ann@example.test", "Ann Example")
    for bad, reason in [(supabase_claims(aud="anon"), "wrong audience"), (supabase_claims(exp=1), "expired"),
                        (supabase_claims(sub="not-a-uuid"), "not a Supabase user id")]:
        with pytest.raises(TokenError, match=reason):
            await verifier.verify(jwt.encode(bad, SUPABASE_SECRET, algorithm="HS256"))
    with pytest.raises(TokenError, match="signature"):
        await verifier.verify(jwt.encode(claims, b"another-secret-that-is-also-32-bytes-long!", algorithm="HS256"))


def _jwk(private_key, kid: str, alg: str) -> dict:
    jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


async def test_supabase_asymmetric_tokens_are_verified_with_its_jwks(jwks_server):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks_server.document = {"keys": [_jwk(rsa_key, "rsa-1", "RS256")]}
    verifier = SupabaseVerifier(None, JwksCache(jwks_server.url, min_refetch_s=0))
    claims = supabase_claims()
    user = await verifier.verify(jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "rsa-1"}))
    assert user.user_id == claims["sub"]
    await verifier.verify(jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "rsa-1"}))
    assert jwks_server.requests == 1  # cached

    rotated = jwt.encode(claims, ec_key, algorithm="ES256", headers={"kid": "ec-2"})
    with pytest.raises(TokenError, match="unknown key"):
        await verifier.verify(rotated)
    jwks_server.document["keys"].append(_jwk(ec_key, "ec-2", "ES256"))  # the project rotates its key
    assert (await verifier.verify(rotated)).user_id == claims["sub"]

    confused = jwt.encode(claims, b"k" * 32, algorithm="HS256", headers={"kid": "rsa-1"})
    with pytest.raises(TokenError, match="algorithm that is not accepted"):  # no HS256 secret configured
        await verifier.verify(confused)
    mismatched = jwt.encode(claims, ec_key, algorithm="ES256", headers={"kid": "rsa-1"})
    with pytest.raises(TokenError, match="does not match its key"):
        await verifier.verify(mismatched)


async def test_an_unreachable_jwks_refuses_tokens_clearly():
    verifier = SupabaseVerifier(None, JwksCache("http://127.0.0.1:9/jwks.json", timeout_s=1))
    token = jwt.encode(supabase_claims(), rsa.generate_private_key(public_exponent=65537, key_size=2048),
                       algorithm="RS256", headers={"kid": "k"})
    with pytest.raises(TokenError, match="cannot fetch the signing keys"):
        await verifier.verify(token)


def test_a_livekit_token_joins_one_room_as_one_identity_for_at_most_an_hour(tmp_path):
    settings = Settings(data_dir=tmp_path, livekit_url="wss://lk.example.test", livekit_api_key="APIkey123",
                        livekit_api_secret=SecretStr("l" * 40), _env_file=None)
    token, expires = livekit_token(settings, "team", "user-1", "Ann")
    claims = TokenVerifier("APIkey123", "l" * 40).verify(token)
    assert claims.identity == "user-1" and claims.name == "Ann"
    assert claims.video.room_join is True and claims.video.room == "team"
    assert not claims.video.room_admin and not claims.video.room_create
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert exp - time.time() <= timedelta(hours=1).total_seconds() + 1
    assert abs(exp - expires.timestamp()) <= 2
    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier("APIkey123", "w" * 40).verify(token)
