"""Rooms over HTTP: create, list, invite, leave, and join credentials (embedded and LiveKit)."""

from __future__ import annotations

import uuid

from livekit.api import TokenVerifier
from pydantic import SecretStr

from .conftest import error


def room() -> str:
    return f"room-{uuid.uuid4().hex[:10]}"


async def test_create_list_invite_and_leave(api):
    ann, bob = await api.sign_up("ann"), await api.sign_up("bob")
    name = room()
    created = await api.http.post("/api/rooms", headers=ann.headers, json={"name": name, "title": "Standup"})
    assert created.status_code == 201 and created.json()["role"] == "owner" and created.json()["private"] is True
    taken = await api.http.post("/api/rooms", headers=bob.headers, json={"name": name})
    assert taken.status_code == 409 and "taken" in error(taken)
    assert (await api.http.get("/api/rooms", headers=bob.headers)).json() == []
    invited = await api.http.post(f"/api/rooms/{name}/members", headers=ann.headers, json={"email": bob.email})
    assert invited.status_code == 201 and invited.json()["user_id"] == bob.user_id
    assert [r["name"] for r in (await api.http.get("/api/rooms", headers=bob.headers)).json()] == [name]
    members = (await api.http.get(f"/api/rooms/{name}/members", headers=bob.headers)).json()
    assert [(m["display_name"], m["role"]) for m in members] == [("Ann", "owner"), ("Bob", "member")]
    assert (await api.http.delete(f"/api/rooms/{name}/members/{bob.user_id}", headers=bob.headers)).status_code == 204
    assert (await api.http.get(f"/api/rooms/{name}/members", headers=bob.headers)).status_code == 404


async def test_bad_room_requests_get_clear_4xx(api):
    ann = await api.sign_up("ann")
    name = room()
    await api.http.post("/api/rooms", headers=ann.headers, json={"name": name})
    for method, path, body, status, message in [
        ("post", "/api/rooms", {"name": "Not A Slug"}, 422, "name"),
        ("post", "/api/rooms", {}, 422, "name is required"),
        ("post", f"/api/rooms/{name}/members", {"email": "nobody@example.test"}, 404, "no account"),
        ("post", f"/api/rooms/{name}/members", {"email": 42}, 422, "email"),
        ("get", f"/api/rooms/{room()}/members", None, 404, "no room named"),
        ("post", f"/api/rooms/{room()}/token", None, 404, "no room named"),
        ("delete", f"/api/rooms/{name}/members/not-a-member", None, 404, "no member"),
        ("post", f"/api/rooms/{name}/token", {"name": "Ann (2)"}, 422, "number in brackets"),
        ("delete", f"/api/rooms/{name}/members/{ann.user_id}", None, 403, "cannot leave"),
    ]:
        response = await api.http.request(method, path, headers=ann.headers, json=body)
        assert response.status_code == status, (path, response.text)
        assert message in error(response)


async def test_an_embedded_join_token_is_for_one_room_and_one_member(api):
    ann, bob = await api.sign_up("ann"), await api.sign_up("bob")
    name = room()
    await api.http.post("/api/rooms", headers=ann.headers, json={"name": name})
    outsider = await api.http.post(f"/api/rooms/{name}/token", headers=bob.headers)
    assert outsider.status_code == 404  # private: members only
    issued = await api.http.post(f"/api/rooms/{name}/token", headers=ann.headers, json={"name": "Ann at home"})
    body = issued.json()
    assert issued.status_code == 200 and body["transport"] == "embedded" and body["url"] is None
    claims = api.accounts.auth.tokens.verify_join(body["token"], name)
    assert (claims.user_id, claims.name) == (ann.user_id, "Ann at home")
    default_name = (await api.http.post(f"/api/rooms/{name}/token", headers=ann.headers)).json()["name"]
    assert default_name == "Ann"


async def test_a_public_room_gives_any_signed_in_user_a_token(api):
    ann, bob = await api.sign_up("ann"), await api.sign_up("bob")
    name = room()
    await api.http.post("/api/rooms", headers=ann.headers, json={"name": name, "private": False})
    token = await api.http.post(f"/api/rooms/{name}/token", headers=bob.headers)
    assert token.status_code == 200 and token.json()["identity"] == bob.user_id
    assert (await api.http.get(f"/api/rooms/{name}/members", headers=bob.headers)).status_code == 404


async def test_with_livekit_configured_the_token_is_a_livekit_join_grant(make_app):
    api = await make_app(livekit_url="wss://lk.example.test", livekit_api_key="APIparley",
                         livekit_api_secret=SecretStr("k" * 40), livekit_token_ttl_s=1800)
    ann = await api.sign_up("ann")
    name = room()
    await api.http.post("/api/rooms", headers=ann.headers, json={"name": name})
    body = (await api.http.post(f"/api/rooms/{name}/token", headers=ann.headers)).json()
    assert (body["transport"], body["url"], body["identity"]) == ("livekit", "wss://lk.example.test", ann.user_id)
    claims = TokenVerifier("APIparley", "k" * 40).verify(body["token"])
    assert (claims.identity, claims.name, claims.video.room, claims.video.room_join) == (ann.user_id, "Ann", name, True)
    assert not claims.video.room_admin


async def test_only_the_owner_deletes_a_room(api):
    ann, bob = await api.sign_up("ann"), await api.sign_up("bob")
    name = room()
    await api.http.post("/api/rooms", headers=ann.headers, json={"name": name})
    await api.http.post(f"/api/rooms/{name}/members", headers=ann.headers, json={"email": bob.email})
    refused = await api.http.delete(f"/api/rooms/{name}", headers=bob.headers)
    assert refused.status_code == 403 and "only the owner" in error(refused)
    assert (await api.http.delete(f"/api/rooms/{name}", headers=ann.headers)).status_code == 204
    assert (await api.http.get("/api/rooms", headers=bob.headers)).json() == []
