"""Build the server's model set from the catalog profile and the settings."""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from parley.settings import Settings

from .catalog import FINAL_ASR, ModelEntry, profile_entries, resolve
from .device import configure_threads, select_device
from .models.asr import STT, FasterWhisperSTT
from .models.base import ModelBackend
from .models.embeddings import SentenceTransformerEmbedder, TextEmbedder
from .models.emotion import EmotionClassifier, PrototypeEmotion, TransformerEmotion
from .models.llm import LLM, LlamaCppLLM
from .models.moonshine import MoonshineSTT
from .models.segmentation import PyannoteSegmentationONNX, SpeakerSegmentation
from .models.speaker import CamPlusPlusEncoder, ResemblyzerEncoder, SpeakerEncoder
from .models.tts import TTS, HibariTTS, PiperTTS
from .models.turn import SmartTurnONNX, TurnDetector
from .models.vad import VAD, SileroVAD
from .protocol import SAMPLE_RATE

log = logging.getLogger(__name__)


@dataclass
class ModelSet:
    vad: VAD
    asr: STT
    speaker: SpeakerEncoder
    embeddings: TextEmbedder
    emotion: EmotionClassifier
    llm: LLM
    tts: TTS
    turn: TurnDetector | None = None  # None: turn-taking falls back to silence + delay
    segmentation: SpeakerSegmentation | None = None  # None: the file pass works from voice embeddings alone
    final_asr: STT | None = None  # decodes finals when set; `asr` then decodes interims only

    @property
    def finals_asr(self) -> STT:
        return self.final_asr or self.asr

    def __post_init__(self) -> None:
        # Held around every model call by each scheduler serving this set. One server has one
        # scheduler, but tests and benchmarks run several servers over one loaded set, and
        # llama.cpp contexts crash (SIGSEGV) when two threads decode at once.
        self.device_lock = threading.Lock()

    def warm_up(self) -> None:
        """One small call per model, so that no user pays its first call's one-time costs (the
        speaker encoder's first window took 1.3 s instead of 0.02 s in a traced room turn)."""
        second = np.zeros(SAMPLE_RATE, np.float32)
        second[::40] = 0.01  # not digital silence: some models skip that
        self.vad.speech_prob(self.vad.new_state(), second[:512])
        self.asr.recognize([second], beam_size=1)
        self.finals_asr.recognize([second])
        self.speaker.embed([second])
        self.embeddings.embed(["warm up"])
        self.emotion.classify(["warm up"])
        for _ in self.tts.synthesize("Hello."):
            pass
        if self.turn is not None:
            self.turn.end_of_turn([second])
        if self.segmentation is not None:
            self.segmentation.segment(second)

    def all(self) -> list[ModelBackend]:
        return [model for f in fields(self) if (model := getattr(self, f.name)) is not None]

    def serving(self, capability: str) -> ModelBackend:
        """The model that answers a request for `capability`: a whole clip's words are a final's."""
        return self.finals_asr if capability == "asr" else getattr(self, capability)

    def roles(self) -> list[tuple[str, ModelBackend]]:
        """(what it does here, model): a recognizer for finals only is "final-asr", not a second "asr"."""
        return [(FINAL_ASR if model is self.final_asr else model.capability, model) for model in self.all()]

    def close(self) -> None:
        for model in self.all():
            model.close()


def _dir(path: Path) -> str:
    return str(path if path.is_dir() else path.parent)


def _quiet_third_party() -> None:
    """Model libraries print progress bars and deprecation chatter; Parley logs its own."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass


def load_speaker(entry: ModelEntry, path: Path, device: str = "cpu") -> SpeakerEncoder:
    if entry.backend == "campplus":
        return CamPlusPlusEncoder(entry.name, str(path / entry.main_file))
    return ResemblyzerEncoder(entry.name, str(path), device=device)


def load_models(settings: Settings) -> tuple[ModelSet, str, int]:
    """Load every model of the profile once. Returns (models, device, threads)."""
    _quiet_third_party()
    device = select_device(settings.device)
    threads = configure_threads(settings.threads)
    entries = profile_entries(settings.model_profile, settings.llm_model, settings.asr_model, settings.tts_model,
                              settings.speaker_model, settings.final_asr_model)
    paths: dict[str, Path | None] = {}
    turn_entry = entries.pop("turn", None)
    segmentation_entry = entries.pop("segmentation", None)
    for capability, entry in entries.items():
        paths[capability] = None if _is_builtin(entry) else resolve(entry, settings.models_dir)

    def timed(capability: str, build):
        started = time.monotonic()
        model = build()
        log.info("loaded %s %s (%s) on %s in %.1f s", capability, model.name, model.backend,
                 model.device, time.monotonic() - started)
        return model

    asr_device = "cuda" if device == "cuda" else "cpu"  # neither CTranslate2 nor onnxruntime (CPU build) runs on MPS
    torch_device = device
    vad = timed("vad", lambda: SileroVAD(entries["vad"].name, str(paths["vad"])))
    asr = timed("asr", lambda: load_asr(entries["asr"], paths["asr"], asr_device, threads))
    final_asr = timed("final asr", lambda: load_asr(entries[FINAL_ASR], paths[FINAL_ASR], asr_device, threads)) \
        if FINAL_ASR in entries else None
    speaker = timed("speaker", lambda: load_speaker(entries["speaker"], paths["speaker"], torch_device))
    embeddings = timed("embeddings", lambda: SentenceTransformerEmbedder(
        entries["embeddings"].name, _dir(paths["embeddings"]), device=torch_device))
    emotion = timed("emotion", lambda: _emotion(entries["emotion"], paths["emotion"], embeddings, torch_device))
    llm = timed("llm", lambda: load_llm(entries["llm"], paths["llm"], device, threads))
    tts = timed("tts", lambda: load_tts(entries["tts"], paths["tts"], device))
    turn = _optional(turn_entry, settings, timed, lambda e, p: SmartTurnONNX(e.name, str(p)),
                     "end-of-turn model unavailable, turns end on silence + delay instead")
    segmentation = _optional(segmentation_entry, settings, timed,
                             lambda e, p: PyannoteSegmentationONNX(e.name, str(p)),
                             "speaker segmentation model unavailable, file transcription finds changes and "
                             "overlaps less well")
    models = ModelSet(vad, asr, speaker, embeddings, emotion, llm, tts, turn, segmentation, final_asr)
    started = time.monotonic()
    models.warm_up()
    log.info("warmed up every model in %.1f s", time.monotonic() - started)
    return models, device, threads


def _optional(entry: ModelEntry | None, settings: Settings, timed, build, without: str):
    """Models that improve a feature without being required for it (end of turn, segmentation):
    missing, corrupt or unloadable, the server starts without them and says so."""
    if entry is None:
        return None
    try:
        path = resolve(entry, settings.models_dir)
        return timed(entry.capability, lambda: build(entry, path))
    except Exception as exc:  # noqa: BLE001 - missing, corrupt or unloadable: all mean "do without"
        log.warning("%s: %s", without, exc)
        return None


def load_llm(entry: ModelEntry, path: Path, device: str, threads: int) -> LLM:
    """A GGUF LLM with every layer on the accelerator, if there is one."""
    return LlamaCppLLM(entry.name, str(path), device=device, threads=threads,
                       gpu_layers=-1 if device != "cpu" else 0)


def load_asr(entry: ModelEntry, path: Path, device: str, threads: int) -> STT:
    """The entry's ASR backend: Moonshine (ONNX) or Whisper in CTranslate2 (the default)."""
    if entry.backend == "moonshine":
        return MoonshineSTT(entry.name, _dir(path), device=device, threads=threads)
    return FasterWhisperSTT(entry.name, _dir(path), device=device,
                            compute_type="float16" if device == "cuda" else "int8", threads=threads)


def load_tts(entry: ModelEntry, path: Path, device: str) -> TTS:
    """The entry's voice: Hibari (its own phonemizer) or Piper (the default)."""
    if entry.backend == "hibari":
        return HibariTTS(entry.name, str(path))
    return PiperTTS(entry.name, str(path), device="cuda" if device == "cuda" else "cpu")


def _is_builtin(entry: ModelEntry) -> bool:
    return type(entry.source).__name__ == "BuiltinSource"


def _emotion(entry: ModelEntry, path: Path | None, embeddings: TextEmbedder, device: str) -> EmotionClassifier:
    if path is None:
        return PrototypeEmotion(entry.name, embeddings)
    return TransformerEmotion(entry.name, _dir(path), device=device)
