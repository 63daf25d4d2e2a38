"""Rooms over the embedded transport: client config, join (SDP offer in, answer out), who is in a room."""

from __future__ import annotations

from fastapi import APIRouter

from parley.signalling import InvalidOffer, NameTaken, RoomFull

from ..deps import AccountsDep, CurrentUser, RoomsRead
from ..deps import JoinGrantDep, RoomName, RoomsDep, SettingsDep
from ..errors import APIProblem
from ..schemas import ClientConfig, JoinRequest, JoinResponse, RoomInfo

router = APIRouter(prefix="/api", tags=["rooms"])


@router.get("/config", response_model=ClientConfig)
async def client_config(settings: SettingsDep, _: CurrentUser) -> ClientConfig:
    return ClientConfig(ice_servers=settings.ice_servers, max_participants=settings.max_participants,
                        assistant_name=settings.assistant_name,
                        transport="livekit" if settings.livekit_enabled else "embedded")


@router.post("/rooms/{room}/join", response_model=JoinResponse, status_code=201,
             responses={400: {"description": "Unusable SDP offer"}, 401: {"description": "Invalid join token"},
                        409: {"description": "Room full or name taken"}, 422: {"description": "Missing or invalid fields"}})
async def join(body: JoinRequest, grant: JoinGrantDep, rooms: RoomsDep) -> JoinResponse:
    """Join a room: send the browser's offer, get the server's answer. Captions and presence
    then arrive on the offer's data channel. No bearer token: the join token in the body
    (POST /api/rooms/{room}/token) is the credential. The connection must come up within
    PARLEY_CONNECT_TIMEOUT_S or the seat is released."""
    try:
        joined = await rooms.join(grant.room, grant.name, body.sdp)
    except InvalidOffer as exc:
        raise APIProblem(400, f"invalid SDP offer: {exc}", "invalid_offer") from None
    except RoomFull as exc:
        raise APIProblem(409, str(exc), "room_full") from None
    except NameTaken as exc:
        raise APIProblem(409, str(exc), "name_taken") from None
    return JoinResponse(room=grant.room, participant=joined.participant, sdp=joined.sdp)


@router.get("/rooms/{room}", response_model=RoomInfo)
async def room_info(room: RoomName, rooms: RoomsDep, settings: SettingsDep, principal: RoomsRead,
                    accounts: AccountsDep) -> RoomInfo:
    """Who is in the room now (the assistant is always there). Only for those who may join it."""
    await accounts.store.joinable_room(principal.actor, room)
    return RoomInfo(room=room, participants=rooms.participants(room), max_participants=settings.max_participants)
