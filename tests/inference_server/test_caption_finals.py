"""Which finals a live stream commits, and when: scripted speech, VAD and recognizer (pipecat-style).

The script is a list of words with their durations and the pauses after them. Each word's
audio is a constant level that names it, the VAD hears any level as speech, and the
recognizer returns the words whose audio it was given (at least 60% of a word), with a full
stop at the end as Whisper tends to add. The stream's own logic (segmenter, caption policy,
ordering) is what runs for real. Real-model tests are in test_caption_finals_real.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from inference_server.models.speaker import CamPlusPlusEncoder
from inference_server.models.vad import VAD
from inference_server.protocol import SAMPLE_RATE, Final, Interim, SpeechEnded, SpeechStarted, StreamConfig
from inference_server.scheduler import Priority
from inference_server.streaming import TranscriptionStream
from parley.settings import Settings

_STEP = 1e-3  # level difference between word codes


@dataclass
class Word:
    text: str
    seconds: float = 0.3
    pause: float = 0.05  # silence after it


def render(words: list[Word], lead: float = 0.3, tail: float = 1.0) -> np.ndarray:
    parts = [np.zeros(int(lead * SAMPLE_RATE), np.float32)]
    for index, word in enumerate(words):
        parts.append(np.full(int(word.seconds * SAMPLE_RATE), 0.05 + index * _STEP, np.float32))
        parts.append(np.zeros(int(word.pause * SAMPLE_RATE), np.float32))
    parts.append(np.zeros(int(tail * SAMPLE_RATE), np.float32))
    return np.concatenate(parts)


class LevelVAD(VAD):
    name = "level-vad"

    def __init__(self) -> None:
        super().__init__("level-vad")

    def _new_state_impl(self):
        return None

    def _speech_prob_impl(self, state, frame: np.ndarray) -> float:
        return 0.95 if np.abs(frame).max() > 0.01 else 0.02


class WordRecognizer:
    """Stands in for the ASR model and the engine around it."""

    def __init__(self, words: list[Word], segmentation: VoiceSegmentation | None = None) -> None:
        self._words = words
        self.embedded: list[tuple[int, object]] = []  # (samples, priority) of each voice embedding asked for
        self.journal: list = []  # the analysis asked for, in order; a test may add the stream's events to it
        speaker = type("Speaker", (), {"similarity": CamPlusPlusEncoder.similarity})()
        self.models = type("Models", (), {"vad": LevelVAD(), "turn": None, "speaker": speaker,
                                          "segmentation": segmentation})()
        metric = type("Metric", (), {"observe": lambda self, value: None})()
        self.scheduler = type("Scheduler", (), {"metrics": type("M", (), {"interim_lag": metric,
                                                                           "final_latency": metric})(),
                                                "waiting": lambda self, priority, besides="": False})()

    async def recognize(self, audio: np.ndarray, **_) -> str:
        await asyncio.sleep(0)
        codes = np.round((audio[np.abs(audio) > 0.01] - 0.05) / _STEP).astype(int)
        counts = np.bincount(codes, minlength=len(self._words)) if len(codes) else np.zeros(len(self._words))
        heard = [w.text for i, w in enumerate(self._words) if counts[i] >= 0.6 * w.seconds * SAMPLE_RATE]
        if not heard:
            return ""
        text = " ".join(heard)
        return text if text[-1] in ".?!" else text + "."

    async def speaker_embedding(self, audio, priority=None, **_):
        self.embedded.append((len(audio), priority))
        self.journal.append(("speaker", len(audio)))
        return None

    async def emotion(self, text, **_):
        self.journal.append(("emotion", text))
        return ("neutral", 1.0)

    async def segment(self, audio, priority=None, **_):
        await asyncio.sleep(0)
        return self.models.segmentation.segment(audio, pad=False)


class VoiceSegmentation:
    """Stands in for the segmentation model: words from `second_voice_from` on are the second voice."""

    frame_step = frame_size = SAMPLE_RATE // 100

    def __init__(self, second_voice_from: int) -> None:
        self._from = second_voice_from

    def frames(self, samples: int) -> int:
        return samples // self.frame_step

    def segment(self, audio: np.ndarray, *, pad: bool = True) -> np.ndarray:
        frames = audio[:self.frames(len(audio)) * self.frame_step].reshape(-1, self.frame_step)
        codes = np.round((frames.max(axis=1) - 0.05) / _STEP).astype(int)
        speaking = frames.max(axis=1) > 0.01
        activity = np.zeros((len(frames), 3), bool)
        activity[speaking & (codes < self._from), 0] = True
        activity[speaking & (codes >= self._from), 1] = True
        return activity


async def run(words: list[Word], **settings) -> list:
    events: list = []

    async def emit(event) -> None:
        events.append(event)

    stream = TranscriptionStream(WordRecognizer(words), Settings(**settings),
                                 StreamConfig(emotion=False, diarization=False), emit)
    await play(stream, words)
    return events


async def play(stream: TranscriptionStream, words: list[Word]) -> None:
    """Feed the words' audio in 20 ms chunks, then finish the stream."""
    pcm = (render(words) * 32767).astype("<i2").tobytes()
    chunk = 2 * SAMPLE_RATE // 50
    for offset in range(0, len(pcm), chunk):
        await stream.feed(pcm[offset:offset + chunk])
        for _ in range(5):  # let decodes finish as a fast server would, between 20 ms chunks
            await asyncio.sleep(0)
    await stream.finish()


def finals(events: list) -> list[Final]:
    return [e for e in events if isinstance(e, Final)]


def sentence(text: str, pause_after: float, word_s: float = 0.3) -> list[Word]:
    words = [Word(w, word_s) for w in text.split()]
    words[-1].pause = pause_after
    return words


async def test_continuous_speech_gets_a_final_per_sentence_inside_one_turn():
    words = (sentence("the sky is blue on a clear day.", 0.25) + sentence("grass is green in the spring.", 0.3)
             + sentence("snow is white.", 0.25) + sentence("what colour is the sea?", 0.05))
    events = await run(words)
    got = finals(events)
    # The last sentence is final at its pause too; the turn's end then closes the utterance with an empty one.
    assert [f.text for f in got] == ["the sky is blue on a clear day.", "grass is green in the spring.",
                                     "snow is white.", "what colour is the sea?", ""]
    assert [f.last for f in got] == [False, False, False, False, True]
    assert [f.segment for f in got] == [0, 1, 2, 3, 4]
    assert len({f.utterance_id for f in got}) == 1
    # One turn: the VAD's start and end, however many finals.
    assert sum(isinstance(e, SpeechStarted) for e in events) == sum(isinstance(e, SpeechEnded) for e in events) == 1
    # Each sentence's final comes out while the next is being spoken, not at the turn's end.
    ended = next(i for i, e in enumerate(events) if isinstance(e, SpeechEnded))
    assert all(events.index(f) < ended for f in got[:3])


async def test_a_pause_after_a_word_that_needs_more_is_not_a_sentence_end():
    words = sentence("the capital of", 0.3) + sentence("france is paris.", 0.25) + sentence("it is big.", 0.05)
    got = finals(await run(words))
    assert [f.text for f in got] == ["the capital of france is paris.", "it is big.", ""]


async def test_speech_without_any_pause_is_cut_between_words_below_the_longest_caption():
    words = [Word(f"w{i}", 0.26, 0.07) for i in range(80)]  # ~26 s, no pause the VAD would wait for
    got = finals(await run(words))
    assert len(got) >= 4
    assert all(f.end - f.start <= 7.0 + 1e-6 for f in got)
    said = " ".join(f.text.rstrip(".") for f in got).split()
    assert said == [w.text for w in words]  # every word once, in order: cuts fall between words


async def test_a_sentence_then_a_few_words_before_the_pause_gives_two_finals():
    words = sentence("this is the first sentence.", 0.25) + sentence("and then", 0.05)
    got = finals(await run(words))
    assert [f.text for f in got] == ["this is the first sentence.", "and then."]
    assert [f.last for f in got] == [False, True]


async def test_a_long_pause_still_ends_the_turn():
    words = sentence("hello there.", 0.6) + sentence("how are you?", 0.05)
    events = await run(words)
    assert [(f.text, f.segment, f.last) for f in finals(events)] == [("hello there.", 0, False), ("", 1, True),
                                                                    ("how are you?", 0, False), ("", 1, True)]
    assert sum(isinstance(e, SpeechEnded) for e in events) == 2


async def test_a_sentence_is_final_at_its_short_pause_not_at_the_turns_end():
    """The turn's end is the VAD's long pause; a complete sentence's caption need not wait for it."""
    words = sentence("the sky is blue on a clear day.", 1.0)
    events = await run(words)
    got = finals(events)
    assert [(f.text, f.last) for f in got] == [("the sky is blue on a clear day.", False), ("", True)]
    assert events.index(got[0]) < next(i for i, e in enumerate(events) if isinstance(e, SpeechEnded))


async def test_a_turns_last_words_are_analysed_during_the_pause_and_final_at_the_turns_end():
    """A caption decoded at a short pause that is no sentence waits for the turn's end (the VAD's 400 ms).
    Its speaker and emotion are computed meanwhile, so at the turn's end the final has nothing to wait for."""
    words = sentence("the capital of", 1.0)  # ends on "of": final only at the turn's end
    engine = WordRecognizer(words)

    async def emit(event) -> None:
        engine.journal.append(event)

    await play(TranscriptionStream(engine, Settings(), StreamConfig(), emit), words)
    journal = engine.journal
    [final] = finals(journal)
    assert (final.text, final.last) == ("the capital of.", True)
    ended = next(i for i, e in enumerate(journal) if isinstance(e, SpeechEnded))
    spoken = int(3 * 0.3 * SAMPLE_RATE)
    assert [entry for entry in journal[:ended] if isinstance(entry, tuple) and entry[0] == "emotion"] == \
        [("emotion", "the capital of.")]
    assert any(entry[0] == "speaker" and spoken <= entry[1] for entry in journal[:ended] if isinstance(entry, tuple))
    assert not any(isinstance(entry, tuple) for entry in journal[ended:])  # no analysis left after the pause


async def test_minutes_without_a_pause_keep_captions_flowing_and_memory_bounded():
    words = [Word(f"w{i}", 0.26, 0.07) for i in range(600)]  # over 3 minutes, never a 200 ms pause
    events: list = []
    longest = 0

    async def emit(event) -> None:
        events.append(event)

    engine = WordRecognizer(words)
    stream = TranscriptionStream(engine, Settings(), StreamConfig(emotion=False, diarization=False), emit)
    pcm = (render(words) * 32767).astype("<i2").tobytes()
    for offset in range(0, len(pcm), 3200):  # 100 ms chunks
        await stream.feed(pcm[offset:offset + 3200])
        longest = max(longest, len(stream._segmenter.utterance_audio()))
        for _ in range(5):
            await asyncio.sleep(0)
    await stream.finish()
    got = finals(events)
    assert longest <= 8 * SAMPLE_RATE  # the caption in progress never holds more than the longest caption
    assert len(got) >= 180 / 7.5
    assert max(f.end - f.start for f in got) <= 7.5 + 1e-6
    assert " ".join(f.text.rstrip(".") for f in got).split() == [w.text for w in words]
    assert sum(isinstance(e, SpeechEnded) for e in events) == 1


async def test_silence_gives_no_events_at_all():
    events: list = []

    async def emit(event) -> None:
        events.append(event)

    stream = TranscriptionStream(WordRecognizer([]), Settings(), StreamConfig(), emit)
    for _ in range(500):  # 10 s
        await stream.feed(bytes(640))
    await stream.finish()
    assert events == []


async def test_a_blip_after_a_sentence_final_is_not_decoded_into_words():
    """A breath after a sentence's final (shorter than any utterance the VAD keeps) closed the
    utterance with its own decode, and Whisper made up "Thank you so much for watching" on it."""
    words = sentence("this is the first sentence.", 0.25) + [Word("um", 0.1)]
    got = finals(await run(words))
    assert [(f.text, f.last) for f in got] == [("this is the first sentence.", False), ("", True)]


async def test_a_short_word_after_a_sentence_final_is_still_captioned():
    words = sentence("this is the first sentence.", 0.25) + [Word("yes", 0.3)]
    got = finals(await run(words))
    assert [(f.text, f.last) for f in got] == [("this is the first sentence.", False), ("yes.", True)]


async def test_speaker_change_windows_are_not_queued_behind_the_assistants_reply():
    """In a Chromium room the assistant answered while two people went on talking: its reply's
    LLM and TTS jobs outranked the change windows, none was embedded for seconds, and captions
    held both voices under one label. Windows now rank with the reply (they are 25 ms each)."""
    words = [Word(f"w{i}", 0.26, 0.07) for i in range(30)]  # ~10 s of speech without a pause
    engine = WordRecognizer(words)

    async def emit(event) -> None:
        pass

    settings = Settings()
    stream = TranscriptionStream(engine, settings, StreamConfig(emotion=False), emit)
    pcm = (render(words) * 32767).astype("<i2").tobytes()
    for offset in range(0, len(pcm), 640):
        await stream.feed(pcm[offset:offset + 640])
        await asyncio.sleep(0)
    await stream.finish()
    windows = [priority for samples, priority in engine.embedded
               if samples == int(settings.change_window_s * SAMPLE_RATE)]
    assert len(windows) >= 10
    assert all(priority <= Priority.REPLY for priority in windows)


async def test_a_speaker_change_without_a_pause_ends_a_final_as_soon_as_the_segmentation_model_hears_it():
    """Two people, no pause between them: the segmentation model hears the new voice 0.3 s in, and
    the first person's words are a final while the second still speaks (the fake embedder tells
    no voices apart, so without the model the two share one final)."""
    # Words run into each other (no frame of silence between them), as the model hears fluent speech.
    words = [Word(f"a{i}", 0.33, 0.0) for i in range(12)] + [Word(f"b{i}", 0.33, 0.0) for i in range(12)]

    async def transcribe(segmentation):
        events: list = []

        async def emit(event) -> None:
            events.append(event)

        engine = WordRecognizer(words, segmentation)
        await play(TranscriptionStream(engine, Settings(live_segmentation=True), StreamConfig(emotion=False), emit),
                   words)
        return events

    alone = finals(await transcribe(None))
    assert any("a11 b0" in f.text for f in alone)  # one final holds both voices
    events = await transcribe(VoiceSegmentation(second_voice_from=12))
    got = finals(events)
    assert [f.text for f in got] == [" ".join(f"a{i}" for i in range(12)) + ".",
                                     " ".join(f"b{i}" for i in range(12)) + ".", ""]
    assert abs(got[0].end - (0.3 + 12 * 0.33)) <= 0.05
    assert events.index(got[0]) < next(i for i, e in enumerate(events) if isinstance(e, SpeechEnded))


async def test_a_decode_of_only_punctuation_is_no_caption():
    """A cut inside speech may decode as "." (seen in a Chromium room, as a final and as an interim):
    no words, no final and no interim."""
    words = sentence("hello there.", 0.6) + [Word(".", 1.2, 0.6)] + sentence("bye now.", 0.3)
    events = await run(words)
    assert [f.text for f in finals(events) if f.text] == ["hello there.", "bye now."]
    assert all(any(c.isalnum() for c in e.text) for e in events if isinstance(e, Interim))
