"""The HTTP side: health, client config, the page, and clear 4xx for every bad join."""

from __future__ import annotations

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from fastapi.testclient import TestClient

from parley.compose import create_embedded_app
from parley.settings import IceServer, Settings

ADMIN = {"email": "admin@parley.local", "password": "the test admin password"}


@pytest.fixture
def http(tmp_path):
    settings = Settings(data_dir=tmp_path, inference_url="http://127.0.0.1:9", max_participants=4,
                        ice_servers=[IceServer(urls=["stun:stun.example.test:3478"])], assistant_name="Ava",
                        admin_password=ADMIN["password"], _env_file=None)
    with TestClient(create_embedded_app(settings)) as client:
        yield client


def error(response) -> str:
    return response.json()["error"]["message"]


def signed_in(http, account=ADMIN) -> dict[str, str]:
    token = http.post("/api/auth/login", json=account).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def join_token(http, headers, room="team", name="Ann") -> str:
    http.post("/api/rooms", headers=headers, json={"name": room})
    response = http.post(f"/api/rooms/{room}/token", headers=headers, json={"name": name})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def test_health_needs_no_sign_in_and_says_when_live_captions_cannot_work(http):
    body = http.get("/health").json()
    assert body["status"] == "ok"
    assert body["inference"] == "unreachable"


def test_the_page_is_public_and_its_config_needs_a_sign_in(http):
    page = http.get("/")
    assert page.status_code == 200 and 'id="join-form"' in page.text
    assert http.get("/app.js").headers["content-type"].startswith("text/javascript")
    assert http.get("/api/config").status_code == 401
    assert http.get("/api/config", headers=signed_in(http)).json() == {
        "ice_servers": [{"urls": ["stun:stun.example.test:3478"], "username": None, "credential": None}],
        "max_participants": 4, "assistant_name": "Ava", "transport": "embedded"}


def test_with_livekit_configured_the_page_is_told_to_use_it(tmp_path):
    settings = Settings(data_dir=tmp_path, inference_url="http://127.0.0.1:9", livekit_url="wss://lk.example.test",
                        livekit_api_key="key", livekit_api_secret="secret-" * 6,
                        admin_password=ADMIN["password"], _env_file=None)
    with TestClient(create_embedded_app(settings)) as client:
        headers = signed_in(client)
        assert client.get("/api/config", headers=headers).json()["transport"] == "livekit"
        client.post("/api/rooms", headers=headers, json={"name": "team"})
        token = client.post("/api/rooms/team/token", headers=headers).json()
        assert (token["transport"], token["url"]) == ("livekit", "wss://lk.example.test")  # the same answer


def test_a_livekit_url_without_its_credentials_is_refused_at_start(tmp_path):
    with pytest.raises(ValueError, match="PARLEY_LIVEKIT_API_KEY and PARLEY_LIVEKIT_API_SECRET"):
        Settings(data_dir=tmp_path, livekit_url="wss://lk.example.test", livekit_api_key="key", _env_file=None)
    assert not Settings(data_dir=tmp_path, _env_file=None).livekit_enabled


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/config"), ("GET", "/api/rooms/team"), ("GET", "/metrics"), ("GET", "/api/rooms"),
    ("POST", "/api/rooms/team/token"), ("GET", "/api/sessions"), ("GET", "/api/memories"), ("GET", "/api/speakers"),
])
def test_every_api_route_but_health_needs_a_sign_in(http, method, path):
    response = http.request(method, path)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_an_empty_room_holds_only_the_assistant(http):
    headers = signed_in(http)
    http.post("/api/rooms", headers=headers, json={"name": "team"})
    body = http.get("/api/rooms/team", headers=headers).json()
    assert [(p["name"], p["kind"]) for p in body["participants"]] == [("Ava", "agent")]


def test_only_members_see_or_join_a_private_room(http):
    admin = signed_in(http)
    http.post("/api/rooms", headers=admin, json={"name": "team", "private": True})
    created = http.post("/api/auth/users", headers=admin,
                        json={"email": "eve@example.test", "display_name": "Eve", "password": "eve's long password"})
    assert created.status_code == 201, created.text
    eve = signed_in(http, {"email": "eve@example.test", "password": "eve's long password"})
    assert http.get("/api/rooms/team", headers=eve).status_code == 404
    assert http.post("/api/rooms/team/token", headers=eve, json={}).status_code == 404
    assert http.post("/api/rooms/team/members", headers=admin, json={"email": "eve@example.test"}).status_code == 201
    assert http.post("/api/rooms/team/token", headers=eve, json={}).json()["name"] == "Eve"


@pytest.mark.parametrize("body, status, message", [
    ({"name": "   "}, 422, "name: use 1-40 characters"),
    ({"name": "x" * 41}, 422, "name: use 1-40 characters"),
    ({"name": "Ann (2)"}, 422, "cannot end in a number in brackets"),
    ({"name": "A\u0007nn"}, 422, "control characters"),
])
def test_a_bad_caption_name_gets_a_clear_422_at_the_token(http, body, status, message):
    headers = signed_in(http)
    http.post("/api/rooms", headers=headers, json={"name": "team"})
    response = http.post("/api/rooms/team/token", headers=headers, json=body)
    assert response.status_code == status
    assert message in error(response)


@pytest.mark.parametrize("path, body, status, message", [
    ("/api/rooms/team/join", {}, 422, "token is required; sdp is required"),
    ("/api/rooms/team/join", {"token": "{token}", "sdp": "v=0", "type": "answer"}, 422, "type: Input should be 'offer'"),
    ("/api/rooms/Team%20Room/join", {"token": "{token}", "sdp": "v=0"}, 422, "room: use 1-40 lowercase letters"),
    ("/api/rooms/team/join", {"token": "not-a-token", "sdp": "v=0"}, 401, "invalid join token: the token is malformed"),
    ("/api/rooms/other/join", {"token": "{token}", "sdp": "v=0"}, 401, "this join token is for another room"),
    ("/api/rooms/team/join", {"token": "{access}", "sdp": "v=0"}, 401, "invalid join token: the token lacks"),
    ("/api/rooms/team/join", {"token": "{token}", "sdp": "garbage"}, 400, "invalid SDP offer: not an SDP offer"),
    ("/api/rooms/team/join", {"token": "{token}", "sdp": "v=0\r\ns=-\r\n"}, 400, "the offer has no audio"),
])
def test_a_bad_join_gets_a_clear_4xx(http, path, body, status, message):
    headers = signed_in(http)
    secrets = {"{token}": join_token(http, headers), "{access}": headers["Authorization"].split()[1]}
    body = {key: secrets.get(value, value) for key, value in body.items()}
    response = http.post(path, json=body)
    assert response.status_code == status
    assert message in error(response)


def test_a_body_that_is_not_json_gets_a_clear_422(http):
    response = http.post("/api/rooms/team/join", content=b"{oops", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert error(response) == "the body must be a JSON object with the fields listed at /docs"


async def test_an_offer_without_a_data_channel_is_refused_and_leaves_no_room_behind(tmp_path):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio", direction="sendrecv")
    await pc.setLocalDescription(await pc.createOffer())
    settings = Settings(data_dir=tmp_path, inference_url="http://127.0.0.1:9", admin_password=ADMIN["password"],
                        _env_file=None)
    with TestClient(create_embedded_app(settings)) as http:
        token = join_token(http, signed_in(http))
        response = http.post("/api/rooms/team/join", json={"token": token, "sdp": pc.localDescription.sdp})
        assert response.status_code == 400
        assert "no data channel" in error(response)
        assert http.app.state.parley.rooms.server.room("team") is None
    await pc.close()
