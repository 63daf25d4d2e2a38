"""Assemble the development set on disk: WAV files, RTTM/STM references and a manifest.

Deterministic: the same packages give the same files, so nothing large is committed; the
set is built once into the bench cache (`python -m bench.devset` prints where).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.audio import cache_dir, pcm16_array, render_turn
from bench.reference import RefTurn, write_rttm, write_stm

from . import sources
from .degrade import telephone
from .packaged import packaged_short_clips
from .questions import QUESTIONS, synthetic_voices
from .splice import splice

VERSION = 2  # 2: real-short gained the packaged clips (packaged.py)


@dataclass(frozen=True)
class DevClip:
    name: str
    path: str
    text: str
    speaker: str
    set: str  # librivox | real-short | real-other | piper | espeak
    origin: str


@dataclass(frozen=True)
class DevConversation:
    name: str
    path: str
    rttm: str
    stm: str | None  # None when the words are unknown (the real call)
    kind: str  # spliced-gaps | spliced-nogap | spliced-overlap | real-call
    telephone: bool
    speakers: list[str]
    duration_s: float


@dataclass
class DevSet:
    root: Path
    clips: list[DevClip] = field(default_factory=list)
    conversations: list[DevConversation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def clips_of(self, name: str) -> list[DevClip]:
        return [clip for clip in self.clips if clip.set == name]

    def to_json(self) -> str:
        return json.dumps({"version": VERSION, "clips": [asdict(c) for c in self.clips],
                           "conversations": [asdict(c) for c in self.conversations],
                           "skipped": self.skipped}, indent=1)

    @classmethod
    def load(cls, root: Path) -> "DevSet":
        data = json.loads((root / "manifest.json").read_text())
        return cls(root, [DevClip(**c) for c in data["clips"]],
                   [DevConversation(**c) for c in data["conversations"]], data["skipped"])


def default_root() -> Path:
    return cache_dir() / f"devset-v{VERSION}"


def _write(path: Path, samples: np.ndarray) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.wav")
    sf.write(str(tmp), pcm16_array(samples), sources.SAMPLE_RATE, subtype="PCM_16")
    os.replace(tmp, path)
    return str(path)


def build(root: Path | None = None, *, rebuild: bool = False, synthetic: bool = True) -> DevSet:
    """The dev set under `root` (default: the bench cache), built if not there yet.
    `synthetic=False` leaves out the piper and espeak questions (quicker: no rendering)."""
    root = Path(root or default_root())
    if (root / "manifest.json").exists() and not rebuild:
        return DevSet.load(root)
    dev = DevSet(root)
    _real_clips(dev)
    if synthetic:
        _synthetic_questions(dev)
    _conversations(dev)
    (root / "manifest.json").write_text(dev.to_json())
    return dev


def _add(dev: DevSet, clip: sources.RealClip, set_name: str) -> None:
    path = _write(dev.root / "clips" / f"{clip.name}.wav", clip.samples)
    dev.clips.append(DevClip(clip.name, path, clip.text, clip.speaker, set_name, clip.origin))


def _real_clips(dev: DevSet) -> None:
    for clip in sources.librivox():
        _add(dev, clip, "librivox")
    for clip in [*sources.cards(), sources.goforward()]:
        _add(dev, clip, "real-short")
    try:
        for clip in packaged_short_clips():
            _add(dev, clip, "real-short")
    except (OSError, subprocess.CalledProcessError) as exc:  # FileNotFoundError, no network
        dev.skipped.append(f"packaged short clips: {exc}")
    try:
        _add(dev, sources.beckett(), "real-other")
    except FileNotFoundError as exc:
        dev.skipped.append(f"beckett: {exc}")


def _synthetic_questions(dev: DevSet) -> None:
    voices = synthetic_voices()
    for origin in ("piper", "espeak"):
        if origin not in voices:
            dev.skipped.append(f"{origin} questions: {origin} is not installed")
    for origin, names in voices.items():
        for voice in names:
            tag = voice.split(":", 1)[1].replace("+", "-")
            for k, question in enumerate(QUESTIONS):
                name = f"{origin}-{tag}-q{k:02d}"
                path = _write(dev.root / "clips" / f"{name}.wav", render_turn(voice, question))
                dev.clips.append(DevClip(name, path, question, voice, origin, voice))


def _conversations(dev: DevSet) -> None:
    reader, cards = sources.librivox(), sources.cards()
    for mode in ("gaps", "nogap", "overlap"):
        audio, rttm, stm = splice(reader, cards, mode, seed=len(mode))
        _conversation(dev, f"spliced-{mode}", audio, rttm, stm, f"spliced-{mode}", telephone_band=False)
        if mode == "gaps":
            _conversation(dev, "spliced-gaps-tel", telephone(audio), rttm, stm, "spliced-gaps", telephone_band=True)
    try:
        audio, turns = sources.pyannote_call()
    except FileNotFoundError as exc:
        dev.skipped.append(f"real call: {exc}")
        return
    _conversation(dev, "real-call", audio, turns, None, "real-call", telephone_band=True)


def _conversation(dev: DevSet, name: str, audio: np.ndarray, rttm: list[RefTurn], stm: list[RefTurn] | None,
                  kind: str, *, telephone_band: bool) -> None:
    folder = dev.root / "conversations"
    path = _write(folder / f"{name}.wav", audio)
    write_rttm(folder / f"{name}.rttm", name, rttm)
    if stm is not None:
        write_stm(folder / f"{name}.stm", name, stm)
    dev.conversations.append(DevConversation(
        name, path, str(folder / f"{name}.rttm"), str(folder / f"{name}.stm") if stm is not None else None,
        kind, telephone_band, sorted({t.speaker for t in rttm}), round(len(audio) / sources.SAMPLE_RATE, 2)))
