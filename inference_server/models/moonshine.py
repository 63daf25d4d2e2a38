"""Moonshine (Useful Sensors, MIT) speech recognition on onnxruntime, greedy decoding.

The encoder takes the clip at its own length (no 30 s window to pad), and the merged
decoder carries a key/value cache: self-attention entries grow by one per token, the
cross-attention ones are computed on the first step and reused (`use_cache_branch`).
The loop follows useful-moonshine-onnx's `MoonshineOnnxModel.generate`; layer count, heads
and head size are read from the decoder's inputs instead of being hard-coded per model.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .asr import STT, Recognition, repeated_tail
from .base import Capabilities

_START, _EOS = 1, 2
_MIN_SAMPLES = 4000  # 0.25 s: shorter clips are padded with silence (the encoder's convolutions need some)
# Moonshine's own limit is ~6.5 tokens per second of audio; a little above it stops loops early.
_TOKENS_PER_S, _TOKENS_FLOOR = 8, 10
_MIN_LOOP_TOKENS = 4  # shorter repeats ("no no", "five five") are real speech
_PAST = re.compile(r"past_key_values\.(\d+)\.(decoder|encoder)\.(key|value)")
# Trained on old audiobooks among others, it writes "to-day" and "to-morrow" for piper's "today".
_OLD_SPELLING = re.compile(r"\b([Tt])o-(day|morrow|night)\b")


def load_tokens(path: Path) -> list[bytes]:
    """moonshine's tokenizer.bin: per token, a length byte (two when >= 128) then its bytes."""
    data, tokens, i = Path(path).read_bytes(), [], 0
    while i < len(data):
        length = data[i]
        i += 1
        if length >= 128:
            length = (length - 128) + (data[i] << 7)
            i += 1
        tokens.append(data[i:i + length])
        i += length
    return tokens


def decode_tokens(vocabulary: list[bytes], ids: list[int]) -> str:
    """SentencePiece pieces to text: byte pieces join raw, "▁" is a space; specials dropped."""
    pieces = b"".join(vocabulary[t] for t in ids if 2 < t < len(vocabulary))
    text = pieces.decode("utf-8", errors="replace").replace("\u2581", " ").strip()
    return _OLD_SPELLING.sub(r"\1o\2", text)


class MoonshineSTT(STT):
    """One clip at a time (the graphs take no attention mask, so clips cannot share a batch)."""

    backend = "moonshine"

    def __init__(self, name: str, path: str, *, device: str = "cpu", threads: int = 0) -> None:
        super().__init__(name, path=path, device=device, capabilities=Capabilities(batching=False))
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
        folder = Path(path)
        self._encoder = ort.InferenceSession(str(folder / "encoder_model.onnx"), options, providers=providers)
        self._decoder = ort.InferenceSession(str(folder / "decoder_model_merged.onnx"), options, providers=providers)
        self._vocabulary = load_tokens(folder / "tokenizer.bin")
        self._past: dict[str, tuple[int, int]] = {}
        for item in self._decoder.get_inputs():
            if _PAST.fullmatch(item.name):
                heads, head_dim = item.shape[1], item.shape[3]
                self._past[item.name] = (int(heads), int(head_dim))
        # present.N.* outputs feed past_key_values.N.* inputs of the next step, matched by name.
        self._present = [item.name.replace("present.", "past_key_values.", 1)
                         for item in self._decoder.get_outputs()[1:]]

    def _recognize_impl(self, audios: list[np.ndarray], beam_size: int | None) -> list[Recognition]:
        return [self._one(audio) for audio in audios]  # greedy: beam_size does not apply

    def _one(self, audio: np.ndarray) -> Recognition:
        audio = audio.astype(np.float32)
        if len(audio) < _MIN_SAMPLES:
            audio = np.concatenate([audio, np.zeros(_MIN_SAMPLES - len(audio), np.float32)])
        hidden = self._encoder.run(None, {"input_values": audio[None, :]})[0]
        past = {name: np.zeros((1, heads, 0, head_dim), np.float32) for name, (heads, head_dim) in self._past.items()}
        tokens, logprobs = [], []
        limit = int(len(audio) / self.sample_rate * _TOKENS_PER_S) + _TOKENS_FLOOR
        next_ids = np.array([[_START]], dtype=np.int64)
        for step in range(limit):
            inputs = {"input_ids": next_ids, "encoder_hidden_states": hidden,
                      "use_cache_branch": np.array([step > 0]), **past}
            logits, *present = self._decoder.run(None, inputs)
            last = logits[0, -1].astype(np.float64)
            token = int(last.argmax())
            logprobs.append(float(last[token] - last.max() - np.log(np.exp(last - last.max()).sum())))
            if token == _EOS:
                break
            tokens.append(token)
            loop = repeated_tail(tokens, _MIN_LOOP_TOKENS)
            if loop:
                del tokens[-loop:]
                break
            next_ids = np.array([[token]], dtype=np.int64)
            for name, value in zip(self._present, present):
                if step == 0 or ".decoder." in name:  # cross-attention cache: kept from the first step
                    past[name] = value
        return Recognition(text=decode_tokens(self._vocabulary, tokens),
                           avg_logprob=float(np.mean(logprobs)) if logprobs else 0.0,
                           no_speech_prob=0.0)  # Moonshine returns empty text on non-speech instead
