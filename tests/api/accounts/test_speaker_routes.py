"""Speaker enrollment over HTTP with the default profile's real speaker model and real read speech."""

from __future__ import annotations

import numpy as np
import pytest

from parley.store import SERVICE

from .conftest import error, speech_wav


@pytest.fixture
def embedders(local_models):
    return local_models


async def test_enrolling_about_ten_seconds_of_voice(api):
    ann = await api.sign_up("ann")
    recording = speech_wav("0870", "0920")  # ~13 s, one reader
    enrolled = await api.http.post("/api/speakers", headers=ann.headers, data={"name": "Ann"},
                                   files={"file": ("voice.wav", recording, "audio/wav")})
    assert enrolled.status_code == 201, enrolled.text
    model = api.accounts.voices.voice_model()
    assert (enrolled.json()["name"], enrolled.json()["embedding_dim"]) == ("Ann", model.dim)
    assert [s["name"] for s in (await api.http.get("/api/speakers", headers=ann.headers)).json()] == ["Ann"]
    prints = await api.accounts.store.voiceprints(SERVICE, [ann.user_id])
    other_clip = await api.accounts.voices.speaker_embedding(speech_wav("0890"))
    similarity = float(np.dot(prints[0].embedding, other_clip.embedding))
    assert similarity >= model.similarity.same_speaker  # another sentence by the same reader matches the voiceprint
    deleted = await api.http.delete(f"/api/speakers/{enrolled.json()['id']}", headers=ann.headers)
    assert deleted.status_code == 204
    assert (await api.http.get("/api/speakers", headers=ann.headers)).json() == []


async def test_bad_enrollments_get_clear_4xx(make_app):
    api = await make_app(max_enrollment_mb=0.3)
    ann = await api.sign_up("ann")
    cases = [
        ({"name": "Ann"}, {"file": ("v.wav", speech_wav("0880"), "audio/wav")}, 422, "at least 5 s of speech"),
        ({"name": "Ann"}, {"file": ("v.wav", b"RIFF....not audio", "audio/wav")}, 422, "cannot be used"),
        ({"name": "Ann"}, {"file": ("v.wav", b"", "audio/wav")}, 422, "empty"),
        ({"name": "Ann"}, {"file": ("v.wav", speech_wav("0870", "0920"), "audio/wav")}, 413, "larger than 0.3 MB"),
        ({"name": "Ann"}, None, 422, "file is required"),
        ({"name": ""}, {"file": ("v.wav", speech_wav("0880"), "audio/wav")}, 422, "name"),
    ]
    for data, files, status, message in cases:
        response = await api.http.post("/api/speakers", headers=ann.headers, data=data, files=files)
        assert response.status_code == status and message in error(response), (message, response.text)
    not_a_form = await api.http.post("/api/speakers", headers=ann.headers, json={"name": "Ann"})
    assert not_a_form.status_code == 422 and "file is required" in error(not_a_form)
    unknown = await api.http.delete("/api/speakers/garbage", headers=ann.headers)
    assert unknown.status_code == 404 and "no speaker" in error(unknown)


async def test_a_broken_multipart_body_gets_a_clear_422(api):
    ann = await api.sign_up("ann")
    broken = await api.http.post("/api/speakers", content=b'--b\r\nContent-Disposition: form-data; name="file"',
                                 headers={**ann.headers, "content-type": "multipart/form-data; boundary=b"})
    message = broken.json()["error"]["message"]
    assert broken.status_code == 422 and ("multipart form" in message or "file is required" in message)
