"""Memories over HTTP, embedded by the real MiniLM model: CRUD and semantic search."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import error


@pytest.fixture
def embedders(local_models):
    return local_models


async def remember(api, caller, text, **fields):
    response = await api.http.post("/api/memories", headers=caller.headers, json={"text": text, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def test_search_finds_memories_by_meaning_with_filters(api):
    ann = await api.sign_up("ann")
    tea = await remember(api, ann, "Ann drinks green tea every morning", speaker="Ann", emotion="joy", tags=["food"])
    trip = await remember(api, ann, "Bob is flying to Lisbon for a conference in May", speaker="Bob",
                          emotion="neutral")
    dog = await remember(api, ann, "Ann's dog is called Biscuit", speaker="Ann", emotion="joy")
    hits = (await api.http.get("/api/memories/search", headers=ann.headers,
                               params={"q": "what does Ann like to drink?"})).json()
    assert [h["memory"]["id"] for h in hits][0] == tea["id"] and len(hits) == 3
    assert hits[0]["score"] > hits[1]["score"] and hits[0]["memory"]["tags"] == ["food"]
    travel = (await api.http.get("/api/memories/search", headers=ann.headers,
                                 params={"q": "travel plans", "limit": 1})).json()
    assert [h["memory"]["id"] for h in travel] == [trip["id"]]
    by_bob = (await api.http.get("/api/memories/search", headers=ann.headers,
                                 params={"q": "pets", "speaker": "Bob"})).json()
    assert [h["memory"]["id"] for h in by_bob] == [trip["id"]]
    joyful = (await api.http.get("/api/memories/search", headers=ann.headers,
                                 params={"q": "pets", "emotion": "joy"})).json()
    assert [h["memory"]["id"] for h in joyful] == [dog["id"], tea["id"]]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await api.http.get("/api/memories/search", headers=ann.headers,
                               params={"q": "pets", "since": tomorrow})).json() == []
    assert len((await api.http.get("/api/memories/search", headers=ann.headers,
                                   params={"q": "pets", "until": tomorrow})).json()) == 3


async def test_editing_text_re_embeds_the_memory(api):
    ann = await api.sign_up("ann")
    memory = await remember(api, ann, "Ann's favourite colour is blue")
    await remember(api, ann, "The office closes at six")
    edited = await api.http.patch(f"/api/memories/{memory['id']}", headers=ann.headers,
                                  json={"text": "Ann plays the cello in an orchestra", "tags": ["music"]})
    assert edited.status_code == 200 and edited.json()["tags"] == ["music"]
    hits = (await api.http.get("/api/memories/search", headers=ann.headers,
                               params={"q": "musical instrument"})).json()
    assert hits[0]["memory"]["id"] == memory["id"]
    tags_only = await api.http.patch(f"/api/memories/{memory['id']}", headers=ann.headers, json={"tags": []})
    assert tags_only.json()["text"] == "Ann plays the cello in an orchestra" and tags_only.json()["tags"] == []
    listed = (await api.http.get("/api/memories", headers=ann.headers)).json()
    assert {m["id"] for m in listed} == {memory["id"], listed[0]["id"]} and len(listed) == 2
    assert (await api.http.delete(f"/api/memories/{memory['id']}", headers=ann.headers)).status_code == 204
    assert (await api.http.get(f"/api/memories/{memory['id']}", headers=ann.headers)).status_code == 404


async def test_bad_memory_requests_get_clear_4xx(api):
    ann = await api.sign_up("ann")
    for method, path, body, params, status, message in [
        ("post", "/api/memories", {"text": ""}, None, 422, "text"),
        ("post", "/api/memories", {"text": "x" * 2001}, None, 422, "text"),
        ("post", "/api/memories", {"text": "ok", "tags": "not-a-list"}, None, 422, "tags"),
        ("post", "/api/memories", {"text": "ok", "source_session_id": str(uuid.uuid4())}, None, 404, "no session"),
        ("get", "/api/memories/search", None, None, 422, "q is required"),
        ("get", "/api/memories/search", None, {"q": "x", "since": "soon"}, 422, "since"),
        ("get", f"/api/memories/{uuid.uuid4()}", None, None, 404, "no memory"),
        ("patch", "/api/memories/not-an-id", {"text": "x"}, None, 404, "no memory"),
        ("delete", f"/api/memories/{uuid.uuid4()}", None, None, 404, "no memory"),
    ]:
        response = await api.http.request(method, path, headers=ann.headers, json=body, params=params)
        assert response.status_code == status and message in error(response), (path, response.text)
