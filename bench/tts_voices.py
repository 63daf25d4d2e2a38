"""The assistant's voices compared: time to first audio and how well an ASR hears them.

    python -m bench.tts_voices [--voice NAME ...] [--repeat 3] [--first-chunk-words N] [--json]

For each TTS voice in the catalog (default: every one the cpu profile can use), each reply of
`REPLIES` (short answers and first clauses, as the agent sends them) is synthesized; the time
to its first audio chunk is taken `--repeat` times after a warm-up, and the whole audio is
resampled to 16 kHz and decoded by the profile's ASR (beam, as finals are) and by Moonshine
when it is pulled. The word error of what the ASR heard against the text is the issue's proxy
for intelligibility; the real-time factor shows what a long answer costs the shared device.
Each reply is spoken as the agent speaks it: split by its `SentenceSplitter` (the first chunk
ends after `--first-chunk-words` words at most), each piece synthesized on its own, joined.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bench.audio import resample
from agent.conversation.sentences import SentenceSplitter
from bench.metrics import percentiles, wer
from inference_server import catalog
from inference_server.loader import load_asr, load_tts
from inference_server.protocol import SAMPLE_RATE
from parley.settings import Settings

VOICES = ("piper-en_US-joe-medium", "hibari-heart")
REPLIES = (
    "The capital of France is Paris.",
    "A spider has eight legs.",
    "Water boils at one hundred degrees Celsius,",
    "Jane Austen wrote Pride and Prejudice.",
    "Mercury is the closest planet to the sun.",
    "The moon is about three hundred eighty thousand kilometres away,",
    "A leap year has three hundred sixty six days.",
    "Sure, I will remind you to call your sister tomorrow.",
    "You decided to keep the budget as it is,",
    "In Spanish you say gracias.",
    "The opposite of hot is cold.",
    "The ocean is salty because rivers carry minerals into it,",
    "Yes, the meeting is still on for Friday at ten.",
    "It might rain this afternoon, so bring an umbrella.",
    "Hello, I am Parley, how can I help?",
    "The train leaves at half past six.",
)


def _first_audio_s(tts, text: str) -> float:
    started = time.perf_counter()
    chunks = tts.synthesize(text)
    next(iter(chunks))
    elapsed = time.perf_counter() - started
    chunks.close()
    return elapsed


def heard(asr, pcm16: np.ndarray, rate: int) -> str:
    """What `asr` hears in a voice's PCM16 audio at `rate` (resampled to 16 kHz, a little silence around)."""
    audio = resample(pcm16.astype(np.float32) / 32768.0, rate, SAMPLE_RATE)
    return asr.recognize([np.concatenate([np.zeros(SAMPLE_RATE // 4, np.float32), audio,
                                          np.zeros(SAMPLE_RATE // 4, np.float32)])])[0].text


def spoken_pieces(text: str, first_chunk_words: int) -> list[str]:
    """`text` in the pieces the agent sends to its voice, one at a time."""
    splitter = SentenceSplitter(first_chunk_words=first_chunk_words)
    return splitter.push(text) + splitter.flush()


def measure(voice: str, asrs: dict, settings: Settings, repeat: int, first_chunk_words: int = 8) -> dict:
    entry = catalog.get_entry(voice)
    catalog.pull([voice], settings.models_dir, progress=False)
    tts = load_tts(entry, catalog.resolve(entry, settings.models_dir), "cpu")
    try:
        _first_audio_s(tts, "Warm up.")
        firsts = [_first_audio_s(tts, text) for text in REPLIES for _ in range(repeat)]
        audio_s = synth_s = 0.0
        heard_by: dict[str, list[str]] = {name: [] for name in asrs}
        for text in REPLIES:
            started = time.perf_counter()
            pcm = np.concatenate([chunk for piece in spoken_pieces(text, first_chunk_words)
                                  for chunk in tts.synthesize(piece)])
            synth_s += time.perf_counter() - started
            audio_s += len(pcm) / tts.sample_rate
            for name, asr in asrs.items():
                heard_by[name].append(heard(asr, pcm, tts.sample_rate))
        result = {"voice": voice, "sample_rate": tts.sample_rate, "first_chunk_words": first_chunk_words,
                  "audio_s": round(audio_s, 2),
                  "first_audio_s": percentiles(firsts), "rtf": round(synth_s / audio_s, 4)}
        for name, texts in heard_by.items():
            result[f"wer_{name}"] = round(wer(" ".join(REPLIES), " ".join(texts)), 4)
            result[f"misheard_{name}"] = [(ref, hyp) for ref, hyp in zip(REPLIES, texts) if wer(ref, hyp) > 0]
        return result
    finally:
        tts.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voice", action="append", help="catalog name of a TTS voice (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--first-chunk-words", type=int, default=SentenceSplitter().first_chunk_words,
                        help="most words in a reply's first piece (the agent's setting by default)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    asrs = {}
    for name in ("whisper-tiny.en", "moonshine-base-en"):
        entry = catalog.get_entry(name)
        try:
            path = catalog.resolve(entry, settings.models_dir)
        except catalog.ModelError:
            continue  # not pulled: this ASR's column is left out
        asrs[name] = load_asr(entry, path, "cpu", 1)
    results = [measure(voice, asrs, settings, args.repeat, args.first_chunk_words) for voice in args.voice or VOICES]
    for asr in asrs.values():
        asr.close()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        wers = "  ".join(f"{k[4:]} WER {v:.1%}" for k, v in r.items() if k.startswith("wer_"))
        print(f"{r['voice']:24s} first audio p50 {r['first_audio_s']['p50']:.3f} s p95 "
              f"{r['first_audio_s']['p95']:.3f} s  RTF {r['rtf']:.3f}  {wers}  "
              f"({r['audio_s']} s of audio, first piece <= {r['first_chunk_words']} words)")
        for key, pairs in r.items():
            if key.startswith("misheard_"):
                for ref, hyp in pairs:
                    print(f"    {key[9:]}: {ref!r} -> {hyp!r}")


if __name__ == "__main__":
    main()
