"""Rooms with owners and members: create, list, invite, remove, and join credentials.
(Live presence and signalling are in rooms.py.)"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Response
from pydantic import BaseModel, Field

from ..deps import AccountsDep, RoomsRead, RoomsWrite, SettingsDep
from ..auth.tokens import livekit_token
from ..schemas import ROOM_PATTERN, DisplayName
from parley.store.records import Room, RoomMember

router = APIRouter(prefix="/api/rooms", tags=["room access"])
RoomName = Annotated[str, Path(pattern=ROOM_PATTERN, description="Lowercase letters, digits and dashes.")]
MemberId = Annotated[str, Path(max_length=64)]


class NewRoom(BaseModel):
    name: str = Field(pattern=ROOM_PATTERN,
                      description="1-40 lowercase letters, digits and dashes; the room's address.")
    title: str = Field("", max_length=120)
    private: bool = Field(True, description="Private rooms admit members only; public ones any signed-in user.")


class Invite(BaseModel):
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


class TokenRequest(BaseModel):
    name: DisplayName | None = Field(None, description="Caption label in the room; default: your display name.")


class JoinCredentials(BaseModel):
    room: str
    transport: Literal["livekit", "embedded"]
    token: str
    url: str | None = Field(None, description="The LiveKit server to connect to (livekit transport only).")
    identity: str
    name: str
    expires_at: datetime


@router.get("", response_model=list[Room])
async def list_rooms(principal: RoomsRead, accounts: AccountsDep) -> list[Room]:
    """The rooms you own or were invited to."""
    return await accounts.store.list_rooms(principal.actor)


@router.post("", response_model=Room, status_code=201, responses={409: {"description": "Name taken"}})
async def create_room(body: NewRoom, principal: RoomsWrite, accounts: AccountsDep) -> Room:
    return await accounts.store.create_room(principal.actor, body.name, body.title or body.name, private=body.private)


@router.delete("/{room}", status_code=204)
async def delete_room(room: RoomName, principal: RoomsWrite, accounts: AccountsDep) -> Response:
    """Owner only: the room, its sessions and their transcripts."""
    await accounts.store.delete_room(principal.actor, room)
    return Response(status_code=204)


@router.get("/{room}/members", response_model=list[RoomMember])
async def list_members(room: RoomName, principal: RoomsRead, accounts: AccountsDep) -> list[RoomMember]:
    return await accounts.store.list_members(principal.actor, room)


@router.post("/{room}/members", response_model=RoomMember, status_code=201)
async def invite(room: RoomName, body: Invite, principal: RoomsWrite, accounts: AccountsDep) -> RoomMember:
    """Owner only: add the account with this email as a member."""
    return await accounts.store.add_member(principal.actor, room, body.email)


@router.delete("/{room}/members/{user_id}", status_code=204)
async def remove_member(room: RoomName, user_id: MemberId, principal: RoomsWrite, accounts: AccountsDep) -> Response:
    """The owner removes a member; a member removes themself (leaves)."""
    await accounts.store.remove_member(principal.actor, room, user_id)
    return Response(status_code=204)


@router.post("/{room}/token", response_model=JoinCredentials)
async def join_credentials(room: RoomName, principal: RoomsRead, accounts: AccountsDep, settings: SettingsDep,
                           body: Annotated[TokenRequest | None, Body()] = None) -> JoinCredentials:
    """Credentials to join: a LiveKit access token for this room only (when LiveKit is
    configured), else an embedded join token for the signalling endpoint. Members only,
    unless the room is public."""
    found = await accounts.store.joinable_room(principal.actor, room)
    user = principal.user
    name = (body.name if body and body.name else user.display_name)[:40]
    if settings.livekit_enabled:
        token, expires = livekit_token(settings, found.name, user.id, name)
        return JoinCredentials(room=found.name, transport="livekit", token=token, url=settings.livekit_url,
                               identity=user.id, name=name, expires_at=expires)
    token, expires = accounts.auth.tokens.issue_join(found.name, user.id, name)
    return JoinCredentials(room=found.name, transport="embedded", token=token, identity=user.id, name=name,
                           expires_at=expires)
