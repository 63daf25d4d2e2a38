"""Passwords, tokens and keys never reach the logs, whatever the path through sign-in."""

from __future__ import annotations

import logging

from .conftest import PASSWORD


async def test_no_secret_reaches_the_logs(make_app, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    api = await make_app()
    one_time = capsys.readouterr().err.split("password: ")[1].split()[0]  # printed on the console only
    admin = await api.http.post("/api/auth/login", json={"email": "admin@parley.local", "password": one_time})
    admin_token = admin.json()["access_token"]
    changed = await api.http.post("/api/auth/password", headers={"Authorization": f"Bearer {admin_token}"},
                                  json={"current_password": one_time, "new_password": "the admin's new password"})
    ann = await api.sign_up("ann")
    await api.http.post("/api/auth/login", json={"email": ann.email, "password": "a wrong password guess"})
    login = await api.http.post("/api/auth/login", json={"email": ann.email, "password": PASSWORD})
    refreshed = await api.http.post("/api/auth/refresh")
    key = (await api.http.post("/api/auth/keys", headers=ann.headers, json={"name": "k", "scopes": ["rooms:read"]})
           ).json()["key"]
    await api.http.get("/api/rooms", headers={"Authorization": f"Bearer {key}"})
    await api.http.get("/api/rooms", headers={"Authorization": "Bearer " + key[:-3] + "abc"})
    await api.http.post("/api/auth/logout")

    secrets = [one_time, "the admin's new password", PASSWORD, "a wrong password guess", admin_token,
               changed.json()["access_token"], login.json()["access_token"], login.cookies["parley_refresh"],
               refreshed.json()["access_token"], refreshed.cookies["parley_refresh"], key, key[:-3] + "abc",
               ann.headers["Authorization"][7:], api.accounts.auth.tokens._secret.decode()]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "signed in: user" in logged and "API key" in logged  # the log does tell what happened
    leaked = [s[:6] + "…" for s in secrets if s in logged]
    assert not leaked, f"secrets in the logs: {leaked}"
