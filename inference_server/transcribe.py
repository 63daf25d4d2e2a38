"""Whole-file transcription with speakers and emotion, shared by REST and `parley transcribe`.

The VAD finds the utterances, the segmentation model (when loaded) who speaks when and where two
overlap; the speaker pass (offline_diarization.py) re-segments the utterances at speaker changes
and re-clusters the whole file; then each piece is decoded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from parley.settings import Settings

from .captions import has_words
from .engine import Engine
from .models.asr import MAX_UTTERANCE_S
from .offline_diarization import Piece, speaker_pieces
from .protocol import SAMPLE_RATE, Segment, Transcript
from .scheduler import Priority
from .segmenter import Segmenter, SpeechEnd

Progress = Callable[[int, int], None]  # (done, total) utterances
_VAD_CHUNK = 10 * SAMPLE_RATE
_IN_FLIGHT = 2  # batch work queued at once: live streams always find the device soon


async def transcribe_audio(engine: Engine, settings: Settings, audio: np.ndarray, *,
                           speakers: int | None = None, progress: Progress | None = None) -> Transcript:
    """`speakers`: how many people speak, when known (labels are then exactly that many at most)."""
    utterances = await _segment(engine, settings, audio)
    gate = asyncio.Semaphore(_IN_FLIGHT)

    async def embed(clips: list[np.ndarray]) -> list[np.ndarray | None]:
        return list(await asyncio.gather(*(engine.speaker_embedding(c, priority=Priority.BATCH) for c in clips)))

    similarity = engine.models.speaker.similarity.overridden(same_speaker=settings.speaker_threshold,
                                                             change=settings.change_threshold)
    activity = await engine.speaker_activity(audio) if engine.models.segmentation is not None and len(audio) else None
    pieces = await speaker_pieces([(u.start, u.audio) for u in utterances], embed, similarity, speakers=speakers,
                                  activity=activity)
    done = 0

    async def recognize(piece: Piece) -> str:
        nonlocal done
        async with gate:
            text = await engine.recognize(audio[piece.start:piece.end], priority=Priority.BATCH)
        done += 1
        if progress:
            progress(done, len(decoded))
        return text if has_words(text) else ""

    # A second voice under another's speech is not decoded: its words are in the louder voice's piece
    # or inseparable from them (decoded alone, its 0.3-0.6 s came out "Thank you." on the real call).
    # It stays in the transcript without words: who spoke then still counts.
    decoded = [p for p in pieces if not p.overlap]
    texts = dict(zip(map(id, decoded), await asyncio.gather(*(recognize(p) for p in decoded))))
    kept = [(p, texts.get(id(p), "")) for p in pieces if p.overlap or texts[id(p)]]
    emotions = iter(await engine.emotions([text for _, text in kept if text], priority=Priority.BATCH))
    labels = _renumber([p.speaker for p, _ in kept])
    segments = []
    for (p, text), label in zip(kept, labels):
        emotion, score = next(emotions) if text else ("neutral", 0.0)
        segments.append(Segment(start=round(p.start / SAMPLE_RATE, 3), end=round(p.end / SAMPLE_RATE, 3),
                                speaker=label, text=text, emotion=emotion, emotion_score=round(float(score), 4)))
    return Transcript(duration=round(len(audio) / SAMPLE_RATE, 3),
                      text=" ".join(s.text for s in segments if s.text), segments=segments)


async def _segment(engine: Engine, settings: Settings, audio: np.ndarray) -> list[SpeechEnd]:
    segmenter = Segmenter(engine.models.vad, threshold=settings.vad_threshold,
                          min_silence_ms=settings.min_silence_ms,
                          max_utterance_s=min(settings.max_utterance_s, MAX_UTTERANCE_S))
    found: list[SpeechEnd] = []

    def run(chunk: np.ndarray, last: bool) -> list[SpeechEnd]:
        events = segmenter.push(chunk) + (segmenter.flush() if last else [])
        return [e for e in events if isinstance(e, SpeechEnd) and len(e.audio)]

    for offset in range(0, len(audio), _VAD_CHUNK):
        chunk = audio[offset:offset + _VAD_CHUNK]
        last = offset + _VAD_CHUNK >= len(audio)
        found += await engine.scheduler.run(lambda c=chunk, l=last: run(c, l), priority=Priority.BATCH,
                                            model=engine.models.vad.name)
    return found


def _renumber(labels: list[str]) -> list[str]:
    """S1 is whoever speaks first, S2 the next new voice, and so on."""
    mapping: dict[str, str] = {}
    for label in labels:
        mapping.setdefault(label, f"S{len(mapping) + 1}")
    return [mapping[label] for label in labels]
