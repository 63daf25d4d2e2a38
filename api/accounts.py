"""Accounts, rooms with members, sessions, memories and speaker enrollment, as one unit for
api/app.py:

    include_account_routes(app)                       # when building the app (after install_error_handlers)
    async with account_services(settings, client, client) as accounts:   # in the lifespan
        app.state.parley = ApiState(settings=settings, accounts=accounts, ...)   # the one state deps.py reads

`client` is the InferenceClient (it embeds texts and voices).
"""

from __future__ import annotations

from fastapi import FastAPI

from .auth.context import AccountServices, account_services
from .routes import auth, memories, room_access, sessions, speakers


def include_account_routes(app: FastAPI) -> None:
    for module in (auth, room_access, sessions, memories, speakers):
        app.include_router(module.router)


__all__ = ["AccountServices", "account_services", "include_account_routes"]
