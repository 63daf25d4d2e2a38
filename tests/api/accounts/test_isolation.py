"""One user cannot read or change another's rooms, sessions, segments, memories, enrollments or
keys, through any account route. A new route without a case here fails the coverage test."""

from __future__ import annotations

import uuid

import pytest

from api.accounts import include_account_routes

from .conftest import PASSWORD, speech_wav
from .test_session_routes import recorded_session

SECRET_TEXT = "Ann's bank PIN hint is her cat's birthday"


@pytest.fixture
async def world(api):
    """Ann's things, and Bob, who is in none of Ann's rooms."""
    ann, bob = await api.sign_up("ann"), await api.sign_up("bob")
    room, session = await recorded_session(api, ann, "Ann's private meeting")
    memory = (await api.http.post("/api/memories", headers=ann.headers, json={"text": SECRET_TEXT})).json()
    speaker = (await api.http.post("/api/speakers", headers=ann.headers, data={"name": "Ann"},
                                   files={"file": ("v.wav", speech_wav("0870", "0920"), "audio/wav")})).json()
    key = (await api.http.post("/api/auth/keys", headers=ann.headers,
                               json={"name": "ann-key", "scopes": ["rooms:read"]})).json()["api_key"]
    ids = {"room": room, "session": session.id, "memory": memory["id"], "speaker": speaker["id"], "key": key["id"],
           "ann": ann.user_id, "ann_email": ann.email, "bob_email": bob.email}
    return ann, bob, ids


def no_leak(ids):
    secrets = [ids["room"], ids["session"], ids["memory"], ids["speaker"], ids["key"], SECRET_TEXT,
               "Ann's private meeting", "Shall we start?"]
    return lambda r: r.status_code == 200 and not any(s in r.text for s in secrets)


# (method, route template, request keywords, expected status or a predicate of the response)
def cases(ids):
    leak_free = no_leak(ids)
    return [
        ("GET", "/api/rooms", {}, leak_free),
        ("POST", "/api/rooms", {"json": {"name": ids["room"]}}, 409),  # names are global; nothing else is told
        ("DELETE", "/api/rooms/{room}", {}, 404),
        ("GET", "/api/rooms/{room}/members", {}, 404),
        ("POST", "/api/rooms/{room}/members", {"json": {"email": ids["bob_email"]}}, 404),
        ("DELETE", "/api/rooms/{room}/members/{user_id}", {"user_id": ids["ann"]}, 404),
        ("POST", "/api/rooms/{room}/token", {}, 404),
        ("GET", "/api/sessions", {}, leak_free),
        ("GET", "/api/sessions", {"params": {"room": ids["room"]}}, leak_free),
        ("GET", "/api/sessions/{session_id}", {}, 404),
        ("GET", "/api/sessions/{session_id}/transcript", {}, 404),
        ("GET", "/api/sessions/{session_id}/export", {"params": {"format": "md"}}, 404),
        ("GET", "/api/sessions/{session_id}/export", {"params": {"format": "json"}}, 404),
        ("PATCH", "/api/sessions/{session_id}", {"json": {"title": "pwned"}}, 404),
        ("DELETE", "/api/sessions/{session_id}", {}, 404),
        ("GET", "/api/memories", {}, leak_free),
        ("GET", "/api/memories/search", {"params": {"q": SECRET_TEXT}}, leak_free),
        ("POST", "/api/memories", {"json": {"text": "x", "source_session_id": ids["session"]}}, 404),
        ("GET", "/api/memories/{memory_id}", {}, 404),
        ("PATCH", "/api/memories/{memory_id}", {"json": {"text": "pwned"}}, 404),
        ("DELETE", "/api/memories/{memory_id}", {}, 404),
        ("GET", "/api/speakers", {}, leak_free),
        ("POST", "/api/speakers", {"data": {"name": "Ann"},
                                   "files": {"file": ("v.wav", speech_wav("0890", "0930"), "audio/wav")}}, 201),
        ("DELETE", "/api/speakers/{speaker_id}", {}, 404),
        ("GET", "/api/auth/keys", {}, leak_free),
        ("POST", "/api/auth/keys", {"json": {"name": "bob-key", "scopes": ["rooms:read"]}}, 201),
        ("DELETE", "/api/auth/keys/{key_id}", {}, 404),
        ("GET", "/api/auth/me", {}, lambda r: r.json()["user"]["email"] == ids["bob_email"]
         and ids["ann"] not in r.text),
        ("POST", "/api/auth/users", {"json": {"email": "x@example.test", "display_name": "X"}}, 403),
        ("POST", "/api/auth/password", {"json": {"current_password": "guess it now", "new_password": "y" * 12}}, 403),
        ("POST", "/api/auth/login", {"json": {"email": ids["ann_email"], "password": "guess it now"}}, 401),
        ("POST", "/api/auth/refresh", {}, lambda r: r.status_code == 200 and ids["ann"] not in r.text),
        ("POST", "/api/auth/logout", {}, 204),
    ]


def _path(template: str, ids: dict, keywords: dict) -> str:
    return template.format(room=ids["room"], session_id=ids["session"], memory_id=ids["memory"],
                           speaker_id=ids["speaker"], key_id=ids["key"], user_id=keywords.pop("user_id", ""))


async def test_bob_cannot_reach_anything_of_anns_through_any_route(api, world):
    ann, bob, ids = world
    ann_login = await api.http.post("/api/auth/login", json={"email": ann.email, "password": PASSWORD})
    ann_refresh = ann_login.cookies["parley_refresh"]
    # The client's refresh cookie is Bob's from here on.
    await api.http.post("/api/auth/login", json={"email": bob.email, "password": PASSWORD})
    for method, template, keywords, expected in cases(ids):
        keywords = dict(keywords)
        response = await api.http.request(method, _path(template, ids, keywords), headers=bob.headers, **keywords)
        ok = expected(response) if callable(expected) else response.status_code == expected
        assert ok, (method, template, response.status_code, response.text)

    # Ann's things are exactly as they were.
    room_members = (await api.http.get(f"/api/rooms/{ids['room']}/members", headers=ann.headers)).json()
    assert [m["user_id"] for m in room_members] == [ann.user_id]
    transcript = (await api.http.get(f"/api/sessions/{ids['session']}/transcript", headers=ann.headers)).json()
    assert transcript["session"]["title"] == "Ann's private meeting" and len(transcript["segments"]) == 2
    memory = (await api.http.get(f"/api/memories/{ids['memory']}", headers=ann.headers)).json()
    assert memory["text"] == SECRET_TEXT
    speakers = (await api.http.get("/api/speakers", headers=ann.headers)).json()
    assert [s["id"] for s in speakers] == [ids["speaker"]]
    keys = (await api.http.get("/api/auth/keys", headers=ann.headers)).json()
    assert [(k["id"], k["revoked_at"]) for k in keys] == [(ids["key"], None)]
    assert (await api.http.post("/api/auth/refresh", cookies={"parley_refresh": ann_refresh})).status_code == 200


def test_every_account_route_has_an_isolation_case():
    from fastapi import FastAPI

    app = FastAPI()
    include_account_routes(app)
    routes = {(method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item}
    ids = {k: str(uuid.uuid4()) for k in ("room", "session", "memory", "speaker", "key", "ann", "ann_email",
                                          "bob_email")}
    covered = {(method, template) for method, template, _, _ in cases(ids)}
    assert routes == covered
