"""A store that cannot serve a request: 503 with a message a person can act on, never a bare 500."""

from __future__ import annotations

from .conftest import PASSWORD, error


async def test_a_closed_store_answers_503_with_a_clear_message_and_retry_after(api):
    ann = await api.sign_up("ann")
    await api.accounts.store.close()  # the database went away under a running API

    rooms = await api.http.get("/api/rooms", headers=ann.headers)
    login = await api.http.post("/api/auth/login", json={"email": ann.email, "password": PASSWORD})

    for response in (rooms, login):
        assert response.status_code == 503, response.text
        assert "store" in error(response) and response.headers["retry-after"] == "5"
