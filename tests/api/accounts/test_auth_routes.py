"""Sign-in over HTTP: cookies, refresh, bad tokens, one-time passwords, admin, API keys, 429s."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from pydantic import SecretStr

from api.auth.passwords import hash_password
from api.auth.tokens import LocalTokens

from .conftest import PASSWORD, error

SUPABASE_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"


async def test_login_sets_an_http_only_refresh_cookie_that_rotates(api):
    ann = await api.sign_up("ann")
    me = await api.http.get("/api/auth/me", headers=ann.headers)
    assert me.status_code == 200 and me.json()["user"]["email"] == ann.email and me.json()["via"] == "password"
    login = await api.http.post("/api/auth/login", json={"email": ann.email, "password": PASSWORD})
    cookie = login.headers["set-cookie"]
    assert "parley_refresh=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/api/auth" in cookie and "Secure" not in cookie  # plain http here; https sets Secure
    old = api.http.cookies["parley_refresh"]
    refreshed = await api.http.post("/api/auth/refresh")
    assert refreshed.status_code == 200 and refreshed.json()["user"]["id"] == ann.user_id
    assert api.http.cookies["parley_refresh"] != old
    new_headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert (await api.http.get("/api/auth/me", headers=new_headers)).status_code == 200
    assert (await api.http.post("/api/auth/logout")).status_code == 204
    again = await api.http.post("/api/auth/refresh", cookies={"parley_refresh": old})
    assert again.status_code == 401 and "sign in again" in error(again)
    assert (await api.http.post("/api/auth/refresh")).status_code == 401


@pytest.mark.parametrize("body, status, message", [
    ({"email": "nobody@example.test", "password": "whatever you like"}, 401, "wrong email or password"),
    ({"email": "nobody@example.test"}, 422, "password is required"),
    ({"email": "not an email", "password": "x"}, 422, "email"),
    ([1, 2], 422, "JSON object"),
])
async def test_bad_sign_ins_get_a_clear_4xx(api, body, status, message):
    response = await api.http.post("/api/auth/login", json=body)
    assert response.status_code == status and message in error(response)


async def test_bad_tokens_are_refused_with_401_and_a_reason(api):
    ann = await api.sign_up("ann")
    tokens = api.accounts.auth.tokens
    foreign = LocalTokens(b"f" * 40, access_ttl_s=900, join_ttl_s=300)
    expired = LocalTokens(tokens._secret, access_ttl_s=-60, join_ttl_s=300)
    cases = {
        None: "sign in first",
        "Basic dXNlcjpwYXNz": "sign in first",
        "Bearer garbage": "malformed",
        f"Bearer {expired.issue_access(ann.user_id)[0]}": "expired",
        f"Bearer {foreign.issue_access(ann.user_id)[0]}": "signature is invalid",
        f"Bearer {tokens.issue_join('team', ann.user_id, 'Ann')[0]}": "wrong audience",
        f"Bearer {tokens.issue_access(str(uuid.uuid4()))[0]}": "no longer exists",
        "Bearer pk_000000000000_nope": "API key is not valid",
    }
    for header, reason in cases.items():
        response = await api.http.get("/api/rooms", headers={"Authorization": header} if header else {})
        assert response.status_code == 401, header
        assert reason in error(response) and response.headers["www-authenticate"].startswith("Bearer")


async def test_a_one_time_password_must_be_replaced_before_anything_else(api):
    email = f"new-{uuid.uuid4().hex[:6]}@example.test"
    await api.accounts.store.create_user(email, "New", await hash_password("one-time-pass"), must_change_password=True)
    login = (await api.http.post("/api/auth/login", json={"email": email, "password": "one-time-pass"})).json()
    assert login["password_change_required"] is True
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    blocked = await api.http.get("/api/rooms", headers=headers)
    assert blocked.status_code == 403 and "choose a new password first" in error(blocked)
    assert (await api.http.get("/api/auth/me", headers=headers)).status_code == 200
    weak = await api.http.post("/api/auth/password", headers=headers,
                               json={"current_password": "one-time-pass", "new_password": "short"})
    assert weak.status_code == 422 and "at least 10" in error(weak)
    changed = await api.http.post("/api/auth/password", headers=headers,
                                  json={"current_password": "one-time-pass", "new_password": "a much better one"})
    assert changed.status_code == 200 and changed.json()["password_change_required"] is False
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await api.http.get("/api/rooms", headers=fresh)).status_code == 200


async def test_admins_create_accounts_and_others_cannot(api):
    admin, ann = await api.sign_up("admin", admin=True), await api.sign_up("ann")
    body = {"email": f"cleo-{uuid.uuid4().hex[:6]}@example.test", "display_name": "Cleo"}
    assert (await api.http.post("/api/auth/users", headers=ann.headers, json=body)).status_code == 403
    created = await api.http.post("/api/auth/users", headers=admin.headers, json=body)
    assert created.status_code == 201 and created.json()["user"]["must_change_password"] is True
    one_time = created.json()["one_time_password"]
    first_login = await api.http.post("/api/auth/login", json={"email": body["email"], "password": one_time})
    assert first_login.status_code == 200
    duplicate = await api.http.post("/api/auth/users", headers=admin.headers, json=body)
    assert duplicate.status_code == 409 and "already exists" in error(duplicate)


async def test_api_keys_are_shown_once_scoped_and_revocable(api):
    ann = await api.sign_up("ann")
    created = await api.http.post("/api/auth/keys", headers=ann.headers,
                                  json={"name": "notebook", "scopes": ["rooms:read"]})
    assert created.status_code == 201
    key, record = created.json()["key"], created.json()["api_key"]
    listed = await api.http.get("/api/auth/keys", headers=ann.headers)
    assert key not in listed.text and [k["id"] for k in listed.json()] == [record["id"]]
    by_key = {"Authorization": f"Bearer {key}"}
    assert (await api.http.get("/api/rooms", headers=by_key)).status_code == 200
    denied = await api.http.post("/api/rooms", headers=by_key, json={"name": "keyroom"})
    assert denied.status_code == 403 and "lacks the 'rooms:write' scope" in error(denied)
    assert (await api.http.get("/api/memories", headers=by_key)).status_code == 403
    assert (await api.http.post("/api/auth/keys", headers=by_key, json={"name": "x", "scopes": ["rooms:read"]})
            ).status_code == 403  # a key cannot mint keys
    unknown = await api.http.post("/api/auth/keys", headers=ann.headers, json={"name": "x", "scopes": ["root"]})
    assert unknown.status_code == 422 and "unknown scopes" in error(unknown)
    assert (await api.http.delete(f"/api/auth/keys/{record['id']}", headers=ann.headers)).json()["revoked_at"]
    revoked = await api.http.get("/api/rooms", headers=by_key)
    assert revoked.status_code == 401 and "revoked" in error(revoked)


async def test_too_many_requests_get_429_with_retry_after(make_app, clock):
    api = await make_app(rate_limit_per_minute=5, login_rate_limit_per_minute=3)
    ann = await api.sign_up("ann")  # one login attempt of three
    statuses = [(await api.http.get("/api/rooms", headers=ann.headers)).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    limited = await api.http.get("/api/rooms", headers=ann.headers)
    assert int(limited.headers["retry-after"]) == 40 and "too many requests" in error(limited)  # 20 s into the minute
    key = (await api.accounts.auth.create_api_key(await api.accounts.auth.authenticate(
        ann.headers["Authorization"][7:]), "k", {"rooms:read"}, None))[0]
    assert (await api.http.get("/api/rooms", headers={"Authorization": f"Bearer {key}"})).status_code == 200
    attempts = [(await api.http.post("/api/auth/login", json={"email": ann.email, "password": "wrong password"})
                 ).status_code for _ in range(3)]
    assert attempts == [401, 401, 429]
    clock.advance(40)  # the next minute's window
    assert (await api.http.get("/api/rooms", headers=ann.headers)).status_code == 200


async def test_supabase_mode_takes_supabase_access_tokens(make_app):
    api = await make_app(auth_mode="supabase", supabase_jwt_secret=SecretStr(SUPABASE_SECRET))
    sub = str(uuid.uuid4())
    token = jwt.encode({"sub": sub, "aud": "authenticated", "email": "sb@example.test", "exp": int(time.time()) + 60},
                       SUPABASE_SECRET, algorithm="HS256")
    rooms = await api.http.get("/api/rooms", headers={"Authorization": f"Bearer {token}"})
    assert rooms.status_code == 200 and rooms.json() == []
    me = (await api.http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert (me["user"]["id"], me["via"]) == (sub, "supabase")
    login = await api.http.post("/api/auth/login", json={"email": "sb@example.test", "password": "whatever"})
    assert login.status_code == 400 and "Supabase Auth" in error(login)
    wrong_aud = jwt.encode({"sub": sub, "aud": "anon", "exp": int(time.time()) + 60}, SUPABASE_SECRET,
                           algorithm="HS256")
    refused = await api.http.get("/api/rooms", headers={"Authorization": f"Bearer {wrong_aud}"})
    assert refused.status_code == 401 and "wrong audience" in error(refused)
