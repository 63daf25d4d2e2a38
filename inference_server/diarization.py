"""Online speaker diarization: label each utterance of a stream S1, S2, ... as it is finalized.

Each speaker is the duration-weighted mean of its utterances' voice embeddings. A new
utterance joins the most similar speaker when the cosine similarity clears a threshold,
otherwise it starts a new speaker. Short utterances never create speakers: they carry too
little voice to be trusted and would split one person into several labels.

The very first utterance has to be labelled whatever its length, and a second voice's first
words may be a 1-2 s reply half covered by the other voice. A speaker heard for less than
`TRUSTED_S` in all is provisional: the next utterance long enough to open a speaker that
matches no one takes its label over, with its own voice, instead of opening another. A call
that opens with "Hello." showed three labels for two people (the short clip's embedding is
about equally unlike both voices), and a splice whose second voice starts under the first
showed three as well. The cost: a third person's first long turn, while the second has said
less than 2 s, takes the second's label.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NEW_SPEAKER_MIN_S = 1.0
TRUSTED_S = 2.0  # a speaker heard for less than this in all is provisional


@dataclass
class _Speaker:
    label: str
    total: np.ndarray
    seconds: float

    @property
    def provisional(self) -> bool:
        return self.seconds < TRUSTED_S

    @property
    def centroid(self) -> np.ndarray:
        return self.total / (np.linalg.norm(self.total) + 1e-9)


@dataclass
class OnlineDiarizer:
    threshold: float = 0.72
    speakers: list[_Speaker] = field(default_factory=list)
    last_label: str | None = None

    def assign(self, embedding: np.ndarray | None, duration: float) -> str:
        """The label for one utterance; updates the speaker models."""
        if embedding is None:
            return self._fallback()
        if not self.speakers:
            return self._new(embedding, duration)
        sims = [float(np.dot(s.centroid, embedding)) for s in self.speakers]
        best = int(np.argmax(sims))
        if sims[best] >= self.threshold or duration < NEW_SPEAKER_MIN_S:
            speaker = self.speakers[best]
            speaker.total = speaker.total + embedding * duration
            speaker.seconds += duration
            self.last_label = speaker.label
            return speaker.label
        provisional = next((s for s in self.speakers if s.provisional), None)
        if provisional is not None:
            provisional.total = embedding * duration  # the short clips' voice was never trusted
            provisional.seconds += duration
            self.last_label = provisional.label
            return provisional.label
        return self._new(embedding, duration)

    def same_speaker(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether two stretches of speech would both get the same known speaker's label."""
        if not self.speakers:
            return False
        centroids = np.stack([s.centroid for s in self.speakers])
        to_a, to_b = centroids @ a, centroids @ b
        nearest = int(np.argmax(to_a))
        return nearest == int(np.argmax(to_b)) and min(to_a[nearest], to_b[nearest]) >= self.threshold

    def _new(self, embedding: np.ndarray, duration: float) -> str:
        speaker = _Speaker(f"S{len(self.speakers) + 1}", embedding * max(duration, 0.1), duration)
        self.speakers.append(speaker)
        self.last_label = speaker.label
        return speaker.label

    def _fallback(self) -> str:
        # Too little audio to embed: the previous speaker is the likeliest.
        if self.last_label is None:
            self.last_label = "S1"
            return "S1"
        return self.last_label
