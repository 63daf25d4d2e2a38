"""Caption labels: the participant's name, and `Name (2)`, `Name (3)` for more voices on one microphone."""

from __future__ import annotations


class SpeakerLabels:
    """Maps one ASR stream's diarization labels (S1, S2, ...) to caption labels.

    Voices are numbered in the order they are first heard, so the first voice is always the
    participant's plain name, whatever label the diarizer gave it. A new ASR stream (after
    the inference server restarted) starts with fresh diarization, so it gets a fresh map.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._index: dict[str, int] = {}
        self.last: str = name

    def label(self, diarization_label: str) -> tuple[str, int]:
        """(caption label, voice index starting at 1)."""
        index = self._index.setdefault(diarization_label, len(self._index) + 1)
        self.last = self.name if index == 1 else f"{self.name} ({index})"
        return self.last, index
