"""What the assistant remembers across sessions.

After a session ends, the LLM extracts durable facts from its transcript; each becomes a
memory of every member of the room (with its embedding, and the session as its source), and
the session gets an LLM title and summary. During a conversation, `recall` finds the
members' memories most similar in meaning to the latest words, for the reply prompt's
memories slot (agent/conversation: `RoomConversation(recall=...)`).
"""

from __future__ import annotations

import logging
import re

from parley.store import SERVICE
from parley.store.records import NewMemory, Segment

from .conversation.prompts import PromptLibrary
from .ports import Inference, MemoryStore

log = logging.getLogger(__name__)

RECALL_LIMIT = 5
MIN_RECALL_SCORE = 0.3  # MiniLM cosine: below this a memory is rarely about the question
MAX_TRANSCRIPT_CHARS = 12_000  # the LLM's context holds the prompt, this and its answer
MAX_FACTS = 20
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*(.+?)\s*$")


def transcript_text(segments: list[Segment]) -> str:
    """'Speaker: words' lines, newest kept when too long (the end of a meeting decides most)."""
    lines = [f"{s.speaker}: {s.text.strip()}" for s in segments if s.text.strip()]
    text = "\n".join(lines)
    return text[-MAX_TRANSCRIPT_CHARS:]


def parse_facts(answer: str) -> list[str]:
    facts: list[str] = []
    for line in answer.splitlines():
        match = _BULLET.match(line)
        fact = match.group(1).strip().strip('"') if match else ""
        if len(fact) < 8 or fact.lower().rstrip(".") in {"none", "no facts"} or fact in facts:
            continue
        facts.append(fact)
    return facts[:MAX_FACTS]


def parse_title_summary(answer: str) -> tuple[str | None, str | None]:
    title = re.search(r"^\s*\**title\**\s*:\s*(.+)$", answer, re.IGNORECASE | re.MULTILINE)
    summary = re.search(r"^\s*\**summary\**\s*:\s*(.+)", answer, re.IGNORECASE | re.MULTILINE | re.DOTALL)
    return (title.group(1).strip('"* ')[:200] if title else None,
            summary.group(1).strip()[:2000] if summary else None)


class RoomMemory:
    def __init__(self, store: MemoryStore, client: Inference, room: str, *,
                 prompts: PromptLibrary | None = None) -> None:
        self.store, self.client, self.room = store, client, room
        self.prompts = prompts or PromptLibrary()

    async def members(self) -> list[str]:
        return [m.user_id for m in await self.store.list_members(SERVICE, self.room)]

    async def recall(self, latest: str, speakers: list[str] | None = None, *, limit: int = RECALL_LIMIT) -> list[str]:
        """The room members' memories most relevant to `latest`, best first (the engine's Recall)."""
        owners = await self.members()
        if not latest.strip() or not owners:
            return []
        [query] = await self.client.embed([latest])
        hits = await self.store.search_memories(SERVICE, query, limit=limit * 2, owner_ids=owners)
        texts: list[str] = []
        for hit in hits:  # every member holds a copy of a room's fact: one is enough
            if hit.score >= MIN_RECALL_SCORE and hit.memory.text not in texts:
                texts.append(hit.memory.text)
        return texts[:limit]

    async def after_session(self, session_id: str) -> list[str]:
        """Title, summary and memories of a finished session; returns the facts stored."""
        segments = await self.store.list_segments(SERVICE, session_id)
        transcript = transcript_text(segments)
        if not transcript:
            return []
        title, summary = parse_title_summary(await self._ask("session_summary", transcript, max_tokens=160))
        if title or summary:
            await self.store.describe_session(SERVICE, session_id, title, summary)
        facts = parse_facts(await self._ask("memory_extraction", transcript, max_tokens=300))
        owners = await self.members()
        if facts and owners:
            embeddings = await self.client.embed(facts)
            for fact, embedding in zip(facts, embeddings, strict=True):
                for owner in owners:
                    await self.store.add_memory(SERVICE, NewMemory(text=fact, tags=["session"],
                                                                   source_session_id=session_id),
                                                embedding, owner_id=owner)
        log.info("room %s: session %s: %d memories, title %r", self.room, session_id, len(facts), title)
        return facts

    async def _ask(self, prompt: str, transcript: str, *, max_tokens: int) -> str:
        messages = [{"role": "user", "content": self.prompts.render(prompt, transcript=transcript)}]
        return await self.client.chat(messages, max_tokens=max_tokens, temperature=0.0)
