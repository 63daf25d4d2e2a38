"""Whole-file transcription with speakers and emotion, shared by REST and `parley transcribe`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from parley.settings import Settings

from .diarization import OnlineDiarizer
from .engine import Engine
from .models.asr import MAX_UTTERANCE_S
from .protocol import SAMPLE_RATE, Segment, Transcript
from .scheduler import Priority
from .segmenter import Segmenter, SpeechEnd

Progress = Callable[[int, int], None]  # (done, total) utterances
_VAD_CHUNK = 10 * SAMPLE_RATE
_IN_FLIGHT = 2  # batch work queued at once: live streams always find the device soon


async def transcribe_audio(engine: Engine, settings: Settings, audio: np.ndarray, *,
                           progress: Progress | None = None) -> Transcript:
    utterances = await _segment(engine, settings, audio)
    gate = asyncio.Semaphore(_IN_FLIGHT)
    done = 0

    async def analyse(segment: SpeechEnd) -> tuple[str, np.ndarray | None]:
        nonlocal done
        async with gate:
            text = await engine.recognize(segment.audio, priority=Priority.BATCH)
            embedding = await engine.speaker_embedding(segment.audio, priority=Priority.BATCH) if text else None
        done += 1
        if progress:
            progress(done, len(utterances))
        return text, embedding

    results = await asyncio.gather(*(analyse(u) for u in utterances))
    kept = [(u, text, emb) for u, (text, emb) in zip(utterances, results) if text]
    labels = _diarize([(emb, (u.end - u.start) / SAMPLE_RATE) for u, _, emb in kept],
                      settings.speaker_threshold)
    emotions = await engine.emotions([text for _, text, _ in kept], priority=Priority.BATCH)
    segments = [
        Segment(start=round(u.start / SAMPLE_RATE, 3), end=round(u.end / SAMPLE_RATE, 3), speaker=label,
                text=text, emotion=emotion, emotion_score=round(float(score), 4))
        for (u, text, _), label, (emotion, score) in zip(kept, labels, emotions)
    ]
    return Transcript(duration=round(len(audio) / SAMPLE_RATE, 3),
                      text=" ".join(s.text for s in segments), segments=segments)


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


def _diarize(items: list[tuple[np.ndarray | None, float]], threshold: float) -> list[str]:
    """Online pass to find the speakers, then each utterance to its nearest final centroid."""
    diarizer = OnlineDiarizer(threshold=threshold)
    first = [diarizer.assign(emb, duration) for emb, duration in items]
    centroids = {s.label: s.centroid for s in diarizer.speakers}
    labels = []
    for (emb, _), label in zip(items, first):
        if emb is not None and centroids:
            label = max(centroids, key=lambda name: float(np.dot(centroids[name], emb)))
        labels.append(label)
    return _renumber(labels)


def _renumber(labels: list[str]) -> list[str]:
    """S1 is whoever speaks first, S2 the next new voice, and so on."""
    mapping: dict[str, str] = {}
    for label in labels:
        mapping.setdefault(label, f"S{len(mapping) + 1}")
    return [mapping[label] for label in labels]
