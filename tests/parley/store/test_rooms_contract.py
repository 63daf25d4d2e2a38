"""Rooms and membership: owners, members and everyone else."""

from __future__ import annotations

import pytest

from parley.store import SERVICE, Conflict, Forbidden, NotFound

from .conftest import new_user, room_name


async def test_the_creator_owns_the_room_and_its_name_is_unique(store):
    ann, bob = await new_user(store, "ann"), await new_user(store, "bob")
    name = room_name()
    room = await store.create_room(ann, name, "Standup")
    assert (room.name, room.title, room.owner_id, room.private, room.role) == (name, "Standup", ann.user_id, True,
                                                                               "owner")
    with pytest.raises(Conflict, match="taken"):
        await store.create_room(bob, name, "Mine")
    assert [r.name for r in await store.list_rooms(ann)] == [name]
    assert await store.list_rooms(bob) == []


async def test_only_members_see_a_private_room(store):
    ann, bob = await new_user(store, "ann"), await new_user(store, "bob")
    room = await store.create_room(ann, room_name(), "Private")
    for lookup in (store.get_room, store.joinable_room, store.list_members):
        with pytest.raises(NotFound, match="no room named"):
            await lookup(bob, room.name)
    bob_user = await store.get_user(bob.user_id)
    member = await store.add_member(ann, room.name, bob_user.email.upper())
    assert (member.user_id, member.role, member.email) == (bob.user_id, "member", bob_user.email)
    assert (await store.get_room(bob, room.name)).role == "member"
    assert [m.role for m in await store.list_members(bob, room.name)] == ["owner", "member"]
    assert [r.name for r in await store.list_rooms(bob)] == [room.name]
    assert (await store.add_member(ann, room.name, bob_user.email)).user_id == bob.user_id  # idempotent


async def test_a_public_room_is_joinable_but_not_readable_by_outsiders(store):
    ann, bob = await new_user(store, "ann"), await new_user(store, "bob")
    room = await store.create_room(ann, room_name(), "Open", private=False)
    joinable = await store.joinable_room(bob, room.name)
    assert joinable.name == room.name and joinable.role is None
    with pytest.raises(NotFound):
        await store.get_room(bob, room.name)
    with pytest.raises(NotFound):
        await store.list_members(bob, room.name)


async def test_only_the_owner_invites_removes_and_deletes(store):
    ann, bob, cleo = await new_user(store, "ann"), await new_user(store, "bob"), await new_user(store, "cleo")
    room = await store.create_room(ann, room_name(), "Team")
    bob_email = (await store.get_user(bob.user_id)).email
    cleo_email = (await store.get_user(cleo.user_id)).email
    await store.add_member(ann, room.name, bob_email)
    with pytest.raises(Forbidden, match="only the owner"):
        await store.add_member(bob, room.name, cleo_email)
    with pytest.raises(NotFound):  # an outsider learns nothing about the room
        await store.add_member(cleo, room.name, cleo_email)
    with pytest.raises(NotFound, match="no account"):
        await store.add_member(ann, room.name, "nobody@example.test")
    with pytest.raises(Forbidden):
        await store.remove_member(bob, room.name, ann.user_id)
    with pytest.raises(Forbidden, match="cannot leave"):
        await store.remove_member(ann, room.name, ann.user_id)
    with pytest.raises(Forbidden):
        await store.delete_room(bob, room.name)
    await store.remove_member(bob, room.name, bob.user_id)  # leaving
    with pytest.raises(NotFound):
        await store.get_room(bob, room.name)
    with pytest.raises(NotFound, match="no member"):
        await store.remove_member(ann, room.name, bob.user_id)
    await store.delete_room(ann, room.name)
    assert await store.list_rooms(ann) == []


async def test_the_service_sees_every_room_but_cannot_own_one(store):
    ann = await new_user(store, "ann")
    room = await store.create_room(ann, room_name(), "Team")
    assert (await store.get_room(SERVICE, room.name)).id == room.id
    with pytest.raises(Forbidden):
        await store.create_room(SERVICE, room_name(), "Nobody's")
