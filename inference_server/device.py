"""Where models run: cuda, then mps, then cpu (overridable), and how many threads each gets."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def cuda_available() -> bool:
    try:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            return True
    except Exception:  # noqa: BLE001 - a missing or broken runtime means no CUDA
        pass
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def mps_available() -> bool:
    try:
        import torch

        return bool(torch.backends.mps.is_available())
    except Exception:  # noqa: BLE001
        return False


def select_device(preference: str = "auto") -> str:
    if preference == "cuda" and not cuda_available():
        raise RuntimeError("PARLEY_DEVICE=cuda but no CUDA device is visible; use auto or cpu")
    if preference == "mps" and not mps_available():
        raise RuntimeError("PARLEY_DEVICE=mps but Metal (MPS) is not available; use auto or cpu")
    if preference != "auto":
        return preference
    if cuda_available():
        return "cuda"
    if mps_available():
        return "mps"
    return "cpu"


def configure_threads(threads: int) -> int:
    """Cap every runtime's thread pool at `threads` (0 = all cores) and return the number.

    The scheduler runs one model call at a time, so each call may use all the cores; what
    must not happen is torch, onnxruntime, CTranslate2 and llama.cpp each spawning a pool of
    cpu_count threads that then fight over the same cores.
    """
    threads = threads or os.cpu_count() or 1
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import torch

        torch.set_num_threads(threads)
        if torch.get_num_interop_threads() != 1:
            try:
                torch.set_num_interop_threads(1)
            except RuntimeError:  # already set by an earlier parallel region
                pass
    except ImportError:
        pass
    log.info("model runtimes use %d threads", threads)
    return threads
