"""Everything the account routes use, opened once per API process."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from parley.settings import Settings

from ..embedders import TextEmbedder, VoiceEmbedder
from parley.store import Store, create_store
from .rate_limits import Clock, RateLimiter, create_rate_limiter
from .service import AuthService


@dataclass
class AccountServices:
    store: Store
    auth: AuthService
    limiter: RateLimiter
    embedder: TextEmbedder
    voices: VoiceEmbedder


@asynccontextmanager
async def account_services(settings: Settings, embedder: TextEmbedder, voices: VoiceEmbedder, *,
                           store: Store | None = None, clock: Clock = time.time) -> AsyncIterator[AccountServices]:
    """Open the configured store (migrating it), the rate limiter (windows on `clock`), and auth;
    create the first admin on a fresh install. A `store` passed in is used as is and left open."""
    owned = store is None
    store = store or create_store(settings)
    if owned:
        await store.open()
    limiter = create_rate_limiter(settings.redis_url.get_secret_value() if settings.redis_url else None, clock)
    try:
        auth = AuthService(settings, store)
        await auth.ensure_admin()
        yield AccountServices(store, auth, limiter, embedder, voices)
    finally:
        await limiter.aclose()
        if owned:
            await store.close()
