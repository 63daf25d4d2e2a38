"""What the store raises. Routes turn these into 404 / 409 / 403 / 503 with the message as is."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every store error; the message is safe to show to the acting user."""


class NotFound(StoreError):
    """The row does not exist *or the actor may not see it*: the two are never told apart."""


class Conflict(StoreError):
    """A unique name or key is taken."""


class Forbidden(StoreError):
    """The actor can see the row but may not do this to it (e.g. a member inviting to a room)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached; callers may retry later."""
