"""Users, API keys and refresh tokens: the same behaviour on every backend."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from parley.store import Conflict, NotFound
from parley.store.base import Actor

from .conftest import new_user


async def test_a_user_is_created_once_per_email_whatever_its_case(store):
    email = f"Ann-{uuid.uuid4().hex[:8]}@Example.TEST"
    user = await store.create_user(email, "Ann", "argon2-hash", is_admin=True, must_change_password=True)
    assert user.email == email.lower() and user.is_admin and user.must_change_password
    assert user.created_at.tzinfo is not None and user.created_at.utcoffset() == timedelta(0)
    with pytest.raises(Conflict, match="already exists"):
        await store.create_user(email.upper(), "Other", None)
    credentials = await store.get_credentials(f"  {email.upper()} ")
    assert credentials.id == user.id and credentials.password_hash == "argon2-hash"
    assert await store.get_user(user.id) == user
    assert await store.get_user(str(uuid.uuid4())) is None
    assert await store.get_user("not-a-uuid") is None


async def test_setting_a_password_clears_the_one_time_flag(store):
    email = f"bob-{uuid.uuid4().hex[:8]}@example.test"
    user = await store.create_user(email, "Bob", "old", must_change_password=True)
    await store.set_password(Actor.for_user(user.id), "new")
    credentials = await store.get_credentials(email)
    assert credentials.password_hash == "new" and not credentials.must_change_password


async def test_an_external_user_gets_one_profile_row(store):
    user_id = str(uuid.uuid4())
    first = await store.ensure_user(user_id, f"sb-{user_id[:8]}@example.test", "Supa")
    again = await store.ensure_user(user_id, f"sb-{user_id[:8]}@example.test", "Renamed")
    assert first == again and first.id == user_id and first.display_name == "Supa"
    assert await store.count_users() >= 1


async def test_api_keys_are_listed_and_revoked_by_their_owner_only(store):
    ann, bob = await new_user(store, "ann"), await new_user(store, "bob")
    prefix = uuid.uuid4().hex[:12]
    key = await store.create_api_key(ann, "ci", prefix, "sha", ["rooms:read", "memories:read", "rooms:read"], None)
    assert key.scopes == ["memories:read", "rooms:read"] and key.revoked_at is None
    assert [k.id for k in await store.list_api_keys(ann)] == [key.id]
    assert await store.list_api_keys(bob) == []
    with pytest.raises(NotFound):
        await store.revoke_api_key(bob, key.id)
    assert (await store.find_api_key(prefix)).revoked_at is None
    revoked = await store.revoke_api_key(ann, key.id)
    assert revoked.revoked_at is not None
    stored = await store.find_api_key(prefix)
    assert stored.key_hash == "sha" and stored.revoked_at == revoked.revoked_at
    await store.touch_api_key(key.id, datetime.now(UTC))
    assert (await store.find_api_key(prefix)).last_used_at is not None
    with pytest.raises(NotFound):
        await store.revoke_api_key(ann, "garbage")


async def test_a_refresh_token_is_claimed_once(store):
    ann = await new_user(store, "ann")
    now = datetime.now(UTC)
    family = str(uuid.uuid4())
    token = await store.add_refresh_token(ann.user_id, family, f"hash-{family}", now + timedelta(days=1))
    claimed = await store.claim_refresh_token(f"hash-{family}", now)
    assert claimed.id == token.id and claimed.family_id == family
    assert await store.claim_refresh_token(f"hash-{family}", now) is None
    assert (await store.find_refresh_token(f"hash-{family}")).used_at is not None


async def test_expired_and_revoked_refresh_tokens_cannot_be_claimed(store):
    ann = await new_user(store, "ann")
    now = datetime.now(UTC)
    family = str(uuid.uuid4())
    await store.add_refresh_token(ann.user_id, family, f"old-{family}", now - timedelta(seconds=1))
    assert await store.claim_refresh_token(f"old-{family}", now) is None
    await store.add_refresh_token(ann.user_id, family, f"live-{family}", now + timedelta(days=1))
    await store.revoke_refresh_family(family, now)
    assert await store.claim_refresh_token(f"live-{family}", now) is None
    other = str(uuid.uuid4())
    await store.add_refresh_token(ann.user_id, other, f"x-{other}", now + timedelta(days=1))
    await store.revoke_user_refresh_tokens(ann.user_id, now)
    assert (await store.find_refresh_token(f"x-{other}")).revoked_at is not None
