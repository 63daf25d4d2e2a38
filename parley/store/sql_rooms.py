"""Rooms and their members in SQL. Membership is the key to everything said in a room."""

from __future__ import annotations

from .base import Actor
from .db import Tx
from .errors import Conflict, Forbidden, NotFound
from .records import Room, RoomMember, utcnow
from .sql_base import SqlBase, checked_id, new_id, normalize_email

_ROOM = ("SELECT r.id, r.name, r.title, r.owner_id, r.private, r.created_at, m.role FROM rooms r "
         "LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = :uid")
_MEMBER = ("SELECT m.room_id, m.user_id, u.email, u.display_name, m.role, m.added_at FROM room_members m "
           "JOIN users u ON u.id = m.user_id")


class RoomQueries(SqlBase):
    async def _room(self, tx: Tx, actor: Actor, name: str, *, joinable: bool = False) -> Room:
        row = await tx.one(_ROOM + " WHERE r.name = :name", {"uid": self._uid(actor), "name": name})
        if row is None or not (actor.is_service or row["role"] or (joinable and not row["private"])):
            raise NotFound(f"no room named {name!r}")
        return Room.model_validate(row)

    @staticmethod
    def _require_owner(actor: Actor, room: Room, what: str) -> None:
        if not actor.is_service and room.role != "owner":
            raise Forbidden(f"only the owner of {room.name!r} may {what}")

    async def create_room(self, actor: Actor, name: str, title: str, *, private: bool = True) -> Room:
        params = {"id": new_id(), "name": name, "title": title, "owner": self._user_id(actor),
                  "private": private, "now": utcnow()}
        try:
            async with self.db.transaction() as tx:
                await tx.run("INSERT INTO rooms (id, name, title, owner_id, private, created_at) "
                             "VALUES (:id, :name, :title, :owner, :private, :now)", params)
                await tx.run("INSERT INTO room_members (room_id, user_id, role, added_at) "
                             "VALUES (:id, :owner, 'owner', :now)", params)
                return await self._room(tx, actor, name)
        except Conflict:
            raise Conflict(f"the room name {name!r} is taken") from None

    async def list_rooms(self, actor: Actor) -> list[Room]:
        async with self.db.transaction() as tx:
            rows = await tx.all(_ROOM + " WHERE m.user_id IS NOT NULL ORDER BY r.name",
                                {"uid": self._user_id(actor)})
        return [Room.model_validate(row) for row in rows]

    async def get_room(self, actor: Actor, name: str) -> Room:
        async with self.db.transaction() as tx:
            return await self._room(tx, actor, name)

    async def joinable_room(self, actor: Actor, name: str) -> Room:
        async with self.db.transaction() as tx:
            return await self._room(tx, actor, name, joinable=True)

    async def delete_room(self, actor: Actor, name: str) -> None:
        async with self.db.transaction() as tx:
            room = await self._room(tx, actor, name)
            self._require_owner(actor, room, "delete it")
            await tx.run("DELETE FROM rooms WHERE id = :id", {"id": room.id})

    async def add_member(self, actor: Actor, room: str, email: str) -> RoomMember:
        async with self.db.transaction() as tx:
            found = await self._room(tx, actor, room)
            self._require_owner(actor, found, "invite members")
            user = await tx.one("SELECT id FROM users WHERE email = :email", {"email": normalize_email(email)})
            if user is None:
                raise NotFound(f"no account with the email {normalize_email(email)!r}")
            await tx.run("INSERT INTO room_members (room_id, user_id, role, added_at) VALUES (:room, :user, 'member', "
                         ":now) ON CONFLICT (room_id, user_id) DO NOTHING",
                         {"room": found.id, "user": user["id"], "now": utcnow()})
            row = await tx.one(_MEMBER + " WHERE m.room_id = :room AND m.user_id = :user",
                               {"room": found.id, "user": user["id"]})
        return RoomMember.model_validate(row)

    async def remove_member(self, actor: Actor, room: str, user_id: str) -> None:
        user_id = checked_id(user_id, "member")
        async with self.db.transaction() as tx:
            found = await self._room(tx, actor, room)
            if user_id != actor.user_id:
                self._require_owner(actor, found, "remove members")
            if user_id == found.owner_id:
                raise Forbidden("the owner cannot leave their room; delete it instead")
            removed = await tx.run("DELETE FROM room_members WHERE room_id = :room AND user_id = :user",
                                   {"room": found.id, "user": user_id})
        if not removed:
            raise NotFound(f"no member with id {user_id!r} in {room!r}")

    async def list_members(self, actor: Actor, room: str) -> list[RoomMember]:
        async with self.db.transaction() as tx:
            found = await self._room(tx, actor, room)
            rows = await tx.all(_MEMBER + " WHERE m.room_id = :room ORDER BY m.added_at, u.email", {"room": found.id})
        return [RoomMember.model_validate(row) for row in rows]
