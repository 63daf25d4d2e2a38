"""FastAPI dependencies: the process state, and who may join which room (by join token)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request

from parley.settings import Settings
from parley.signalling import RoomHost

from .auth.deps import AccountsDep
from .auth.errors import unauthorized
from .auth.tokens import TokenError
from .schemas import ROOM_PATTERN, JoinRequest
from .state import ApiState


def get_state(request: Request) -> ApiState:
    return request.app.state.parley


StateDep = Annotated[ApiState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    return state.settings


def get_rooms(state: StateDep) -> RoomHost:
    return state.rooms


SettingsDep = Annotated[Settings, Depends(get_settings)]
RoomsDep = Annotated[RoomHost, Depends(get_rooms)]
RoomName = Annotated[str, Path(pattern=ROOM_PATTERN, description="Lowercase letters, digits and dashes.")]


@dataclass(frozen=True)
class JoinGrant:
    room: str
    name: str
    user_id: str


def join_grant(room: RoomName, body: JoinRequest, accounts: AccountsDep) -> JoinGrant:
    """Who joins which room under which name: only the bearer of a valid join token for this
    room (from POST /api/rooms/{room}/token, which checks membership), under the token's name."""
    try:
        claims = accounts.auth.tokens.verify_join(body.token, room)
    except TokenError as exc:
        raise unauthorized(f"invalid join token: {exc}; get one from POST /api/rooms/{room}/token",
                           "invalid_join_token") from None
    return JoinGrant(room=claims.room, name=claims.name, user_id=claims.user_id)


JoinGrantDep = Annotated[JoinGrant, Depends(join_grant)]
