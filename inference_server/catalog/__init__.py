"""Model catalog: every model Parley can run, where its weights come from, and how to
prepare (`pull`), find (`resolve`) and check (`status`, `verify`) them on disk.

    entry = get_entry("whisper-tiny.en")
    path = resolve(entry, settings.models_dir)    # raises ModelNotReady with a one-line fix

No heavy imports here: the agent may import this package without pulling in torch.
"""

from .entries import (CAPABILITIES, CATALOG, FINAL_ASR, PROFILES, BuiltinSource, HuggingFaceSource, LocalSource,
                      ModelCorrupt, ModelDownloadError, ModelEntry, ModelError, ModelNotReady,
                      PyPISource, UnknownModel, get_entry, model_dir, profile_entries)
from .prepare import MARKER, pull, resolve, status, tree_hash, verify

__all__ = [
    "CAPABILITIES", "CATALOG", "FINAL_ASR", "MARKER", "PROFILES", "BuiltinSource", "HuggingFaceSource",
    "LocalSource", "ModelCorrupt", "ModelDownloadError", "ModelEntry", "ModelError",
    "ModelNotReady", "PyPISource", "UnknownModel", "get_entry", "model_dir", "profile_entries",
    "pull", "resolve", "status", "tree_hash", "verify",
]
