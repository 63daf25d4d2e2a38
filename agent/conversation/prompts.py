"""The reply prompt, assembled from the text files in `prompts/` (loaded by name).

Layout, most stable first, so the LLM's KV cache reuses all but the newest words:

    system     persona.txt + room.txt            changes only when people join or leave
    user       "Ann: ..."  (consecutive human lines share one user message)
    assistant  what the assistant said
    user       "Bob [joy]: ..."
               + interrupted.txt, in the user message, for a reply cut short: the words heard
               + memories.txt, only when there are memories, only on the reply itself

A reply cut short is narrated in the transcript, not kept as the assistant's own message: small
models copy the shape of their last answer, and with the cut-off answer as an assistant message
(marked " —", "…" or "[interrupted]") Qwen2.5-1.5B answered every later question with a
fragment and the same mark ("Rome is a city —").

Memories change with every question, so they ride at the very end and never invalidate the
transcript's cached prefix.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from .context import AssistantLine, HumanLine, Line

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


class PromptLibrary:
    """Prompt templates by name: `prompts/<name>.txt`, with `{placeholders}` filled by `render`."""

    def __init__(self, directory: Path = PROMPTS_DIR) -> None:
        self.directory = directory

    def render(self, name: str, **values: str) -> str:
        return _read(self.directory / f"{name}.txt").format(**values).strip()


@cache
def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"prompt '{path.stem}' not found: expected {path}") from None


def transcript_line(line: HumanLine) -> str:
    mood = f" [{line.emotion}]" if line.emotion and line.emotion != "neutral" else ""
    return f"{line.speaker}{mood}: {line.text.strip()}"


def people_phrase(names: list[str]) -> str:
    if not names:
        return "nobody else yet"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class ReplyPrompt:
    def __init__(self, library: PromptLibrary, *, assistant_name: str, room: str) -> None:
        self._library = library
        self.assistant_name = assistant_name
        self.room = room

    def system(self, people: list[str]) -> str:
        persona = self._library.render("persona", assistant_name=self.assistant_name)
        room = self._library.render("room", room=self.room, people=people_phrase(people))
        return f"{persona}\n\n{room}"

    def messages(self, lines: list[Line], people: list[str], *, memories: list[str] = ()) -> list[dict[str, str]]:
        """Chat messages for `lines`; empty when there is no human line to answer."""
        messages = [{"role": "system", "content": self.system(people)}]
        for line in lines:
            if isinstance(line, AssistantLine):
                if not line.text or messages[-1]["role"] != "user":  # a reply never opens the transcript
                    continue
                if line.interrupted:
                    messages[-1]["content"] += "\n" + self._library.render(
                        "interrupted", assistant_name=self.assistant_name, heard=line.text.strip())
                else:
                    messages.append({"role": "assistant", "content": line.text})
            elif messages[-1]["role"] == "user":
                messages[-1]["content"] += "\n" + transcript_line(line)
            else:
                messages.append({"role": "user", "content": transcript_line(line)})
        if messages[-1]["role"] != "user":
            return []
        if memories:
            note = self._library.render("memories", memories=" ".join(m.strip() for m in memories))
            messages[-1]["content"] += "\n\n" + note
        return messages
