"""Sign-in, token refresh (HttpOnly cookie, rotated on every use), sign-out, password change,
accounts (admin) and API keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Cookie, Path, Request, Response
from pydantic import BaseModel, Field, field_validator

from ..auth.api_keys import SCOPES
from ..deps import AccountsDep, AdminUser, AnyPrincipal, InteractiveUser, SettingsDep, enforce_rate_limit
from ..errors import unauthorized
from ..auth.service import Login
from ..schemas import DisplayName
from parley.store.records import ApiKey, User

router = APIRouter(prefix="/api/auth", tags=["auth"])
REFRESH_COOKIE = "parley_refresh"
Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class LoginRequest(BaseModel):
    email: Email
    password: str = Field(min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    user: User
    password_change_required: bool


class Me(BaseModel):
    user: User
    via: Literal["password", "supabase", "api_key"]
    scopes: list[str]


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class NewAccount(BaseModel):
    email: Email
    display_name: DisplayName
    password: str | None = Field(None, max_length=1024, description="Omit to get a one-time password to hand over.")


class CreatedAccount(BaseModel):
    user: User
    one_time_password: str | None = Field(None, description="Shown once; the user must replace it at first sign-in.")


class NewApiKey(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    scopes: list[str] = Field(min_length=1, description="Any of: " + ", ".join(SCOPES))
    expires_in_days: int | None = Field(None, ge=1, le=3650)

    @field_validator("scopes")
    @classmethod
    def _known(cls, scopes: list[str]) -> list[str]:
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown scopes {unknown}; use any of {sorted(SCOPES)}")
        return scopes


class CreatedApiKey(BaseModel):
    key: str = Field(description="Shown once: only its hash is kept.")
    api_key: ApiKey


def _signed_in(login: Login, request: Request, response: Response) -> TokenResponse:
    max_age = max(0, int((login.refresh_expires_at - datetime.now(UTC)).total_seconds()))
    response.set_cookie(REFRESH_COOKIE, login.refresh_token, max_age=max_age, path="/api/auth", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return TokenResponse(access_token=login.access_token, expires_at=login.expires_at, user=login.user,
                         password_change_required=login.user.must_change_password)


@router.post("/login", response_model=TokenResponse, responses={401: {"description": "Wrong email or password"},
                                                                429: {"description": "Too many attempts"}})
async def login(body: LoginRequest, request: Request, response: Response, accounts: AccountsDep,
                settings: SettingsDep) -> TokenResponse:
    """Returns a short-lived access token and sets the refresh cookie (HttpOnly)."""
    limit = settings.login_rate_limit_per_minute
    await enforce_rate_limit(accounts, f"login-ip:{request.client.host if request.client else '-'}", limit)
    await enforce_rate_limit(accounts, f"login-email:{body.email.strip().lower()}", limit)
    return _signed_in(await accounts.auth.login(body.email, body.password), request, response)


@router.post("/refresh", response_model=TokenResponse, responses={401: {"description": "No valid refresh cookie"}})
async def refresh(request: Request, response: Response, accounts: AccountsDep,
                  parley_refresh: Annotated[str | None, Cookie(include_in_schema=False)] = None) -> TokenResponse:
    """A new access token from the refresh cookie; the cookie is replaced (rotation)."""
    if not parley_refresh:
        raise unauthorized("no refresh cookie: sign in", "refresh_missing")
    return _signed_in(await accounts.auth.refresh(parley_refresh), request, response)


@router.post("/logout", status_code=204)
async def logout(response: Response, accounts: AccountsDep,
                 parley_refresh: Annotated[str | None, Cookie(include_in_schema=False)] = None) -> Response:
    """Revokes this login's refresh tokens; the access token lapses by itself within minutes."""
    if parley_refresh:
        await accounts.auth.logout(parley_refresh)
    response.status_code = 204
    response.delete_cookie(REFRESH_COOKIE, path="/api/auth")
    return response


@router.get("/me", response_model=Me)
async def me(principal: AnyPrincipal) -> Me:
    return Me(user=principal.user, via=principal.via, scopes=sorted(principal.scopes))


@router.post("/password", response_model=TokenResponse)
async def change_password(body: PasswordChange, principal: AnyPrincipal, request: Request, response: Response,
                          accounts: AccountsDep, settings: SettingsDep) -> TokenResponse:
    """Replace the password (the one-time one, too); every other login of the account is signed out."""
    limit = settings.login_rate_limit_per_minute
    await enforce_rate_limit(accounts, f"login-email:{principal.user.email}", limit)
    if principal.via == "api_key":
        raise unauthorized("sign in with your password to change it", "interactive_only")
    login = await accounts.auth.change_password(principal, body.current_password, body.new_password)
    return _signed_in(login, request, response)


@router.post("/users", response_model=CreatedAccount, status_code=201)
async def create_account(body: NewAccount, _: AdminUser, accounts: AccountsDep) -> CreatedAccount:
    user, one_time = await accounts.auth.create_account(body.email, body.display_name, body.password)
    return CreatedAccount(user=user, one_time_password=one_time)


@router.get("/keys", response_model=list[ApiKey])
async def list_keys(principal: InteractiveUser, accounts: AccountsDep) -> list[ApiKey]:
    return await accounts.store.list_api_keys(principal.actor)


@router.post("/keys", response_model=CreatedApiKey, status_code=201)
async def create_key(body: NewApiKey, principal: InteractiveUser, accounts: AccountsDep) -> CreatedApiKey:
    key, record = await accounts.auth.create_api_key(principal, body.name, set(body.scopes), body.expires_in_days)
    return CreatedApiKey(key=key, api_key=record)


@router.delete("/keys/{key_id}", response_model=ApiKey)
async def revoke_key(key_id: Annotated[str, Path(max_length=64)], principal: InteractiveUser,
                     accounts: AccountsDep) -> ApiKey:
    return await accounts.store.revoke_api_key(principal.actor, key_id)
