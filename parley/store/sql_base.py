"""What the SQL mixins share: the database, id checks, and who-may-do-what guards."""

from __future__ import annotations

import uuid

from .base import Actor
from .db import Database
from .errors import Forbidden, NotFound


def new_id() -> str:
    return str(uuid.uuid4())


def checked_id(value: str, what: str) -> str:
    """A path id that is not a UUID names nothing: NotFound, never a database error."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound(f"no {what} with id {value!r}") from None


def normalize_email(email: str) -> str:
    return email.strip().lower()


class SqlBase:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def close(self) -> None:
        await self.db.close()

    @staticmethod
    def _user_id(actor: Actor) -> str:
        if actor.is_service:
            raise Forbidden("this needs a signed-in user")
        return actor.user_id

    @staticmethod
    def _require_service(actor: Actor, what: str) -> None:
        if not actor.is_service:
            raise Forbidden(f"only the assistant's agent {what}")

    @staticmethod
    def _uid(actor: Actor) -> str | None:
        """The actor's user id as a query parameter (None for the service)."""
        return None if actor.is_service else actor.user_id
