"""AuthService over a real SQLite store: sign-in, refresh rotation, API keys, the first admin."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import SecretStr

from api.auth.api_keys import ALL_SCOPES, new_api_key
from api.auth.service import AuthFailed, AuthService
from parley.store.sqlite import SqliteStore
from parley.settings import Settings

SUPABASE_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"


@pytest.fixture
async def store(tmp_path):
    store = SqliteStore(tmp_path / "parley.db")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def auth(store, tmp_path) -> AuthService:
    return AuthService(Settings(data_dir=tmp_path, _env_file=None), store)


async def account(auth: AuthService, password: str = "correct horse battery"):
    user, _ = await auth.create_account(f"u-{uuid.uuid4().hex[:8]}@example.test", "User", password)
    return user


async def test_a_preset_admin_password_is_used_as_is_and_never_printed(store, tmp_path, capsys):
    auth = AuthService(Settings(data_dir=tmp_path, admin_password="a scripted admin pass", _env_file=None), store)
    assert await auth.ensure_admin() is None
    assert "a scripted admin pass" not in capsys.readouterr().err
    login = await auth.login("admin@parley.local", "a scripted admin pass")
    assert login.user.is_admin and not login.user.must_change_password


async def test_the_first_start_creates_an_admin_once_and_prints_but_never_logs_its_password(auth, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    password = await auth.ensure_admin()
    assert password and await auth.ensure_admin() is None
    printed = capsys.readouterr().err
    assert "admin@parley.local" in printed and password in printed
    assert password not in caplog.text
    login = await auth.login("admin@parley.local", password)
    assert login.user.is_admin and login.user.must_change_password
    renewed = await auth.change_password(await auth.authenticate(login.access_token), password, "a new long password")
    assert not renewed.user.must_change_password
    with pytest.raises(AuthFailed, match="wrong email or password"):
        await auth.login("admin@parley.local", password)  # one-time: gone after the change


async def test_sign_in_needs_the_right_password_and_says_nothing_more(auth):
    user = await account(auth)
    login = await auth.login(user.email.upper(), "correct horse battery")
    assert (await auth.authenticate(login.access_token)).user.id == user.id
    for email, password in [(user.email, "wrong password!"), ("nobody@example.test", "correct horse battery")]:
        with pytest.raises(AuthFailed, match="^wrong email or password$"):
            await auth.login(email, password)
    with pytest.raises(AuthFailed, match="at least 10"):
        await auth.create_account("short@example.test", "Short", "short")


async def test_refresh_rotates_and_a_replayed_token_signs_the_login_out(auth):
    user = await account(auth)
    first = await auth.login(user.email, "correct horse battery")
    second = await auth.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token and second.user.id == user.id
    third = await auth.refresh(second.refresh_token)
    with pytest.raises(AuthFailed, match="already used"):
        await auth.refresh(first.refresh_token)  # a thief replays an old token...
    with pytest.raises(AuthFailed, match="already used|not valid"):
        await auth.refresh(third.refresh_token)  # ...and the whole login is revoked
    with pytest.raises(AuthFailed, match="not valid"):
        await auth.refresh("never-issued")
    other = await auth.login(user.email, "correct horse battery")  # other logins are unaffected
    await auth.logout(other.refresh_token)
    with pytest.raises(AuthFailed):
        await auth.refresh(other.refresh_token)


async def test_changing_the_password_signs_out_every_other_login(auth):
    user = await account(auth)
    elsewhere = await auth.login(user.email, "correct horse battery")
    here = await auth.login(user.email, "correct horse battery")
    principal = await auth.authenticate(here.access_token)
    with pytest.raises(AuthFailed, match="current password is wrong"):
        await auth.change_password(principal, "not it at all", "another long password")
    fresh = await auth.change_password(principal, "correct horse battery", "another long password")
    with pytest.raises(AuthFailed):
        await auth.refresh(elsewhere.refresh_token)
    assert (await auth.refresh(fresh.refresh_token)).user.id == user.id


async def test_api_keys_authenticate_with_their_scopes_until_revoked_or_expired(auth, store):
    user = await account(auth)
    principal = await auth.authenticate((await auth.login(user.email, "correct horse battery")).access_token)
    assert principal.scopes == ALL_SCOPES and principal.rate_bucket == f"user:{user.id}"
    key, record = await auth.create_api_key(principal, "ci", {"memories:read"}, None)
    assert key.startswith("pk_") and key not in record.model_dump_json()
    by_key = await auth.authenticate(key)
    assert by_key.via == "api_key" and by_key.scopes == {"memories:read"} and by_key.rate_bucket == f"key:{record.id}"
    assert (await store.find_api_key(record.prefix)).last_used_at is not None
    for forged in (key[:-2] + "xx", key.replace(record.prefix, "0" * 12), "pk_nonsense", new_api_key()[0]):
        with pytest.raises(AuthFailed, match="not valid"):
            await auth.authenticate(forged)
    await store.revoke_api_key(principal.actor, record.id)
    with pytest.raises(AuthFailed, match="revoked"):
        await auth.authenticate(key)
    expiring, expiring_record = await auth.create_api_key(principal, "short", {"rooms:read"}, 1)
    await auth.authenticate(expiring)
    assert expiring_record.expires_at - datetime.now(UTC) > timedelta(hours=23)


async def test_supabase_mode_accepts_supabase_tokens_and_creates_the_profile(store, tmp_path):
    settings = Settings(data_dir=tmp_path, auth_mode="supabase", supabase_jwt_secret=SecretStr(SUPABASE_SECRET),
                        _env_file=None)
    auth = AuthService(settings, store)
    assert await auth.ensure_admin() is None  # Supabase owns sign-up
    sub = str(uuid.uuid4())
    token = jwt.encode({"sub": sub, "aud": "authenticated", "email": "sb@example.test",
                        "exp": int(datetime.now(UTC).timestamp()) + 600}, SUPABASE_SECRET, algorithm="HS256")
    principal = await auth.authenticate(token)
    assert (principal.user.id, principal.user.email, principal.via) == (sub, "sb@example.test", "supabase")
    assert (await auth.authenticate(token)).user == principal.user
    with pytest.raises(AuthFailed, match="local sign-in is off"):
        await auth.login("sb@example.test", "whatever it is")
    local = AuthService(Settings(data_dir=tmp_path, _env_file=None), store).tokens.issue_access(sub)[0]
    with pytest.raises(AuthFailed):  # Parley's own tokens are not Supabase's
        await auth.authenticate(local)
