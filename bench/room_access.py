"""Signing in and getting a join token, the way the page does, for tests and benchmarks.

The default account is the admin that `parley up` creates on first start, with the password
in PARLEY_ADMIN_PASSWORD (set it for scripted runs: then no one-time password is needed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx

ADMIN_EMAIL = "admin@parley.local"


class AccessFailed(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message = status, message


@dataclass(frozen=True)
class Account:
    email: str
    password: str

    @classmethod
    def from_env(cls) -> Account:
        password = os.environ.get("PARLEY_ADMIN_PASSWORD")
        if not password:
            raise AccessFailed(0, "set PARLEY_ADMIN_PASSWORD (the admin's password) to join rooms from scripts")
        return cls(os.environ.get("PARLEY_ADMIN_EMAIL", ADMIN_EMAIL), password)


def _check(response: httpx.Response, *ok: int) -> dict:
    if response.status_code not in ok:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise AccessFailed(response.status_code, message)
    return response.json() if response.content else {}


async def sign_in(http: httpx.AsyncClient, account: Account) -> dict[str, str]:
    """Authorization headers for the account."""
    body = _check(await http.post("/api/auth/login", json={"email": account.email, "password": account.password}), 200)
    return {"Authorization": f"Bearer {body['access_token']}"}


async def fetch_join_token(url: str, room: str, name: str, account: Account, *, create: bool = True) -> str:
    """Sign in, create the room if it does not exist yet (`create`), and get a join token."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        headers = await sign_in(http, account)
        if create:
            created = await http.post("/api/rooms", headers=headers, json={"name": room})
            _check(created, 201, 409)  # 409: it exists already
        token = await http.post(f"/api/rooms/{room}/token", headers=headers, json={"name": name})
        return _check(token, 200)["token"]
