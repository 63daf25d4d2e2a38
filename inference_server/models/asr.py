"""Speech-to-text on short utterances (the VAD cuts the stream; this decodes each piece).

Backends: faster-whisper (Whisper in CTranslate2) and Moonshine (ONNX, moonshine.py).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .base import Capabilities, ModelBackend

MAX_UTTERANCE_S = 28.0  # Whisper's window is 30 s; leave room for padding
_PAD_FRAMES = 200  # 2 s of silence after a clip keeps trimmed-context decoding accurate
# A window of at least 10 s: sub-second clips in a 3 s window were repeated ("Nice work. Nice
# work."), and a fixed floor makes a clip decode the same alone or batched with others.
_MIN_FRAMES = 1000
_MIN_ECHO_TOKENS = 5  # a shorter phrase said twice may be what was said


@dataclass(frozen=True)
class Recognition:
    text: str
    avg_logprob: float
    no_speech_prob: float


class STT(ModelBackend):
    capability = "asr"
    sample_rate = 16000

    def recognize(self, audios: Sequence[np.ndarray], *, beam_size: int | None = None) -> list[Recognition]:
        """Decode each float32 16 kHz clip (<= 28 s) independently, in one batched call."""
        for audio in audios:
            if audio.ndim != 1 or len(audio) > MAX_UTTERANCE_S * self.sample_rate + 1:
                raise ValueError(f"ASR input must be mono and at most {MAX_UTTERANCE_S} s long")
        if not audios:
            return []
        return self._recognize_impl(list(audios), beam_size)

    @abstractmethod
    def _recognize_impl(self, audios: list[np.ndarray], beam_size: int | None) -> list[Recognition]: ...


def repeated_tail(tokens: list[int], min_block: int) -> int:
    """Length of a block the sequence ends with twice in a row (0 if none): decoding a short
    clip can loop ("What is the boiling point of water? What is the boiling…", "5, 5, 5, 5,")."""
    for block in range(min_block, len(tokens) // 2 + 1):
        if tokens[-block:] == tokens[-2 * block:-block]:
            return block
    return 0


def without_loop(tokens: list[int]) -> list[int]:
    """A decode that ran to its token ceiling repeating itself: the repeats dropped, one copy kept."""
    while block := repeated_tail(tokens, 1):
        tokens = tokens[:-block]
    return tokens


def without_echo(tokens: list[int], min_block: int = _MIN_ECHO_TOKENS, max_gap: int = 2) -> list[int]:
    """A decode that ends by saying again what it just said, a word or two apart, keeps the first
    saying: Whisper echoes a phrase at the end of a clip cut inside speech ("I heard a beep. This is
    Diane, and I heard a beep. This is Diane"). Blocks shorter than `min_block` tokens can be speech
    ("I don't know. I don't know.")."""
    while True:
        for block in range(len(tokens) // 2, min_block - 1, -1):
            gap = next((g for g in range(max_gap + 1) if 2 * block + g <= len(tokens)
                        and tokens[-block:] == tokens[-2 * block - g:len(tokens) - block - g]), None)
            if gap is not None:
                tokens = tokens[:len(tokens) - block - gap]
                break
        else:
            return tokens


def _max_new_tokens(audios: list[np.ndarray]) -> int:
    """A ceiling well above any real speech rate (~4 words/s) that stops runaway loops."""
    longest = max(len(a) for a in audios) / 16000
    return int(12 * longest) + 24


class FasterWhisperSTT(STT):
    """CTranslate2 Whisper. Clips of several streams share one encoder pass (micro-batching)."""

    backend = "faster-whisper"

    def __init__(self, name: str, path: str, *, device: str = "cpu", compute_type: str = "int8",
                 threads: int = 0, beam_size: int = 5, language: str = "en",
                 trim_context: bool = True) -> None:
        super().__init__(name, path=path, device=device, capabilities=Capabilities(batching=True))
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        self._model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads,
                                   local_files_only=True)
        multilingual = self._model.model.is_multilingual
        self._tokenizer = Tokenizer(self._model.hf_tokenizer, multilingual, task="transcribe",
                                    language=language if multilingual else "en")
        # Timestamp mode: the model marks where speech ends, which keeps it from repeating
        # itself to fill a trimmed window (seen with `without_timestamps=True`).
        self._prompt = self._model.get_prompt(self._tokenizer, [], without_timestamps=False)
        self.beam_size = beam_size
        self.trim_context = trim_context

    def _batch_features(self, audios: list[np.ndarray]) -> np.ndarray:
        """Mel features of each clip, zero-padded to a shared length.

        Whisper is trained on 30 s windows, but encoding only the clip plus ~2 s of padding (and
        at least 10 s)
        gives the same text on utterances at 3-5x less encoder time (whisper.cpp's
        `audio_ctx` trick; see docs/decisions.md), which is what makes CPU streaming viable.
        """
        mels = [self._model.feature_extractor(audio.astype(np.float32)) for audio in audios]
        longest = max(mel.shape[1] for mel in mels)
        frames = 3000
        if self.trim_context:
            frames = min(3000, max(_MIN_FRAMES, (longest + _PAD_FRAMES) // 100 * 100 + 100))
        batch = np.zeros((len(mels), mels[0].shape[0], frames), dtype=np.float32)
        for i, mel in enumerate(mels):
            batch[i, :, : min(frames, mel.shape[1])] = mel[:, :frames]
        return batch

    def _recognize_impl(self, audios: list[np.ndarray], beam_size: int | None) -> list[Recognition]:
        encoded = self._model.encode(self._batch_features(audios))
        results = self._model.model.generate(
            encoded,
            [list(self._prompt) for _ in audios],
            beam_size=beam_size or self.beam_size,
            max_length=min(self._model.max_length, len(self._prompt) + _max_new_tokens(audios)),
            suppress_blank=True,
            suppress_tokens=[-1],
            return_scores=True,
            return_no_speech_prob=True,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
        )
        out = []
        for result in results:
            tokens = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
            if result.sequences_ids[0] and result.sequences_ids[0][-1] < self._tokenizer.timestamp_begin:
                # No closing timestamp: the length ceiling stopped it, mid-loop ("5, 5, 5, …" on a 1 s clip).
                tokens = without_loop(tokens)
            tokens = without_echo(tokens)
            text = self._tokenizer.decode(tokens).strip()
            seq_len = max(1, len(result.sequences_ids[0]))
            out.append(Recognition(text=text, avg_logprob=float(result.scores[0]) / (seq_len + 1) * seq_len,
                                   no_speech_prob=float(result.no_speech_prob)))
        return out
