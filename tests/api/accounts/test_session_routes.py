"""Session history, transcripts and exports over HTTP."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from parley.store import SERVICE
from parley.store.records import NewSegment

from .conftest import error


async def recorded_session(api, owner, title=None):
    """A room of `owner` with one finished session, as the agent would have written it."""
    store = api.accounts.store
    name = f"room-{uuid.uuid4().hex[:10]}"
    await api.http.post("/api/rooms", headers=owner.headers, json={"name": name})
    session = await store.start_session(SERVICE, name, datetime(2030, 3, 4, 10, 0, tzinfo=UTC))
    ann = await store.add_participant(SERVICE, session.id, "p-ann", "Ann", owner.user_id)
    bob = await store.add_participant(SERVICE, session.id, "p-bob", "Bob")
    await store.append_segments(SERVICE, session.id, [
        NewSegment(participant_id=ann.id, speaker="Ann", start=0.5, end=2.25, text="Shall we start?",
                   emotion="neutral", emotion_score=0.7),
        NewSegment(participant_id=bob.id, speaker="Bob", start=3.0, end=3661.5, text="Yes <finally> & now",
                   emotion="joy", emotion_score=0.9),
    ])
    await store.end_session(SERVICE, session.id, datetime(2030, 3, 4, 11, 1, 2, tzinfo=UTC))
    if title:
        await store.describe_session(SERVICE, session.id, title, "They started.")
    return name, session


async def test_history_and_transcript(api):
    ann = await api.sign_up("ann")
    name, session = await recorded_session(api, ann, "Kickoff")
    history = (await api.http.get("/api/sessions", headers=ann.headers, params={"room": name})).json()
    assert [(s["id"], s["title"], s["last_seq"]) for s in history] == [(session.id, "Kickoff", 2)]
    transcript = (await api.http.get(f"/api/sessions/{session.id}/transcript", headers=ann.headers)).json()
    assert [p["display_name"] for p in transcript["participants"]] == ["Ann", "Bob"]
    assert [(s["seq"], s["speaker"], s["start"], s["emotion"]) for s in transcript["segments"]] == [
        (1, "Ann", 0.5, "neutral"), (2, "Bob", 3.0, "joy")]
    page = (await api.http.get(f"/api/sessions/{session.id}/transcript", headers=ann.headers,
                               params={"after_seq": 1})).json()
    assert [s["seq"] for s in page["segments"]] == [2]


async def test_exports_in_every_format(api):
    ann = await api.sign_up("ann")
    name, session = await recorded_session(api, ann, "Kickoff")
    url = f"/api/sessions/{session.id}/export"
    as_json = await api.http.get(url, headers=ann.headers, params={"format": "json"})
    assert as_json.headers["content-type"].startswith("application/json")
    assert f'filename="{name}-20300304-1000.json"' in as_json.headers["content-disposition"]
    assert [s["text"] for s in json.loads(as_json.text)["segments"]] == ["Shall we start?", "Yes <finally> & now"]
    srt = (await api.http.get(url, headers=ann.headers, params={"format": "srt"})).text
    assert srt.startswith("1\n00:00:00,500 --> 00:00:02,250\nAnn: Shall we start?\n\n2\n")
    assert "00:00:03,000 --> 01:01:01,500\nBob: Yes <finally> & now" in srt
    vtt = await api.http.get(url, headers=ann.headers, params={"format": "vtt"})
    assert vtt.headers["content-type"].startswith("text/vtt") and vtt.text.startswith("WEBVTT\n\n1\n")
    assert "00:00:00.500 --> 00:00:02.250\n<v Ann>Shall we start?" in vtt.text
    assert "<v Bob>Yes &lt;finally&gt; &amp; now" in vtt.text
    md = (await api.http.get(url, headers=ann.headers, params={"format": "md"})).text
    assert md.startswith("# Kickoff\n") and "## Summary\n\nThey started." in md
    assert "- `00:00:03` **Bob** _(joy)_: Yes <finally> & now" in md
    bad = await api.http.get(url, headers=ann.headers, params={"format": "docx"})
    assert bad.status_code == 422 and "format" in error(bad)


async def test_the_owner_retitles_and_deletes_sessions(api):
    ann, bob = await api.sign_up("ann"), await api.sign_up("bob")
    name, session = await recorded_session(api, ann)
    await api.http.post(f"/api/rooms/{name}/members", headers=ann.headers, json={"email": bob.email})
    refused = await api.http.patch(f"/api/sessions/{session.id}", headers=bob.headers, json={"title": "Mine"})
    assert refused.status_code == 403 and "owner" in error(refused)
    edited = await api.http.patch(f"/api/sessions/{session.id}", headers=ann.headers, json={"title": "Planning"})
    assert edited.status_code == 200 and edited.json()["title"] == "Planning"
    assert (await api.http.delete(f"/api/sessions/{session.id}", headers=bob.headers)).status_code == 403
    assert (await api.http.delete(f"/api/sessions/{session.id}", headers=ann.headers)).status_code == 204
    gone = await api.http.get(f"/api/sessions/{session.id}", headers=ann.headers)
    assert gone.status_code == 404 and "no session" in error(gone)


async def test_bad_session_requests_get_clear_4xx(api):
    ann = await api.sign_up("ann")
    for path, params, status, message in [
        (f"/api/sessions/{uuid.uuid4()}", None, 404, "no session"),
        ("/api/sessions/garbage/transcript", None, 404, "no session"),
        ("/api/sessions", {"limit": 0}, 422, "limit"),
        ("/api/sessions", {"before": "yesterday"}, 422, "before"),
        ("/api/sessions", {"room": "Bad Room"}, 422, "room"),
    ]:
        response = await api.http.get(path, headers=ann.headers, params=params)
        assert response.status_code == status and message in error(response), (path, response.text)
