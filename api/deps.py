"""FastAPI dependencies, as `Annotated` aliases: the process state, who is calling (with which
scopes, within their rate limit), and who may join which room (by join token). Every route but
health and sign-in depends on one of the caller aliases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from parley.settings import Settings
from parley.signalling import RoomHost
from parley.store import Store

from .auth.context import AccountServices
from .auth.service import AuthFailed, Principal
from .auth.tokens import TokenError
from .errors import HeaderProblem, unauthorized
from .schemas import ROOM_PATTERN, JoinRequest
from .state import ApiState


bearer_scheme = HTTPBearer(auto_error=False, description="An access token from /api/auth/login, "
                           "a Supabase Auth access token, or an API key (pk_…).")


def get_state(request: Request) -> ApiState:
    return request.app.state.parley


StateDep = Annotated[ApiState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_accounts(state: StateDep) -> AccountServices:
    return state.accounts


AccountsDep = Annotated[AccountServices, Depends(get_accounts)]


def get_store(accounts: AccountsDep) -> Store:
    return accounts.store


StoreDep = Annotated[Store, Depends(get_store)]


async def enforce_rate_limit(accounts: AccountServices, bucket: str, limit: int, window_s: int = 60) -> None:
    verdict = await accounts.limiter.hit(bucket, limit, window_s)
    if not verdict.allowed:
        raise HeaderProblem(429, f"too many requests; try again in {verdict.retry_after_s} s", "rate_limited",
                            {"Retry-After": str(verdict.retry_after_s)})


async def signed_in(accounts: AccountsDep, settings: SettingsDep,
                    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]) -> Principal:
    """Any valid caller, including one who still has to replace a one-time password."""
    if credentials is None:
        raise unauthorized("sign in first: send 'Authorization: Bearer <token>'")
    try:
        principal = await accounts.auth.authenticate(credentials.credentials)
    except AuthFailed as exc:
        raise unauthorized(exc.message, exc.code) from None
    await enforce_rate_limit(accounts, principal.rate_bucket, settings.rate_limit_per_minute)
    return principal


AnyPrincipal = Annotated[Principal, Depends(signed_in)]


async def current_principal(principal: AnyPrincipal) -> Principal:
    if principal.user.must_change_password:
        raise HeaderProblem(403, "choose a new password first: POST /api/auth/password", "password_change_required",
                            {})
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


async def interactive_user(principal: CurrentUser) -> Principal:
    if principal.via == "api_key":
        raise HeaderProblem(403, "API keys cannot manage accounts or keys; sign in", "interactive_only", {})
    return principal


InteractiveUser = Annotated[Principal, Depends(interactive_user)]


async def admin_user(principal: InteractiveUser) -> Principal:
    if not principal.user.is_admin:
        raise HeaderProblem(403, "only an admin may do this", "admin_only", {})
    return principal


AdminUser = Annotated[Principal, Depends(admin_user)]


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: CurrentUser) -> Principal:
        if scope not in principal.scopes:
            raise HeaderProblem(403, f"this API key lacks the {scope!r} scope", "missing_scope", {})
        return principal
    check.__name__ = f"require_{scope.replace(':', '_')}"
    return check


RoomsRead = Annotated[Principal, Depends(require_scope("rooms:read"))]
RoomsWrite = Annotated[Principal, Depends(require_scope("rooms:write"))]
SessionsRead = Annotated[Principal, Depends(require_scope("sessions:read"))]
SessionsWrite = Annotated[Principal, Depends(require_scope("sessions:write"))]
MemoriesRead = Annotated[Principal, Depends(require_scope("memories:read"))]
MemoriesWrite = Annotated[Principal, Depends(require_scope("memories:write"))]
SpeakersRead = Annotated[Principal, Depends(require_scope("speakers:read"))]
SpeakersWrite = Annotated[Principal, Depends(require_scope("speakers:write"))]


def get_rooms(state: StateDep) -> RoomHost:
    return state.rooms


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
