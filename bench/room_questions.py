"""Short questions through a room while other rooms talk: caption WER per set of the dev set.

    python -m bench.room_questions [--load-rooms 4] [--set piper --set real-short --set espeak] [--json]

One Parley (`parley up`, default models) on free ports. `--load-rooms` other rooms each have a
client playing a real conversation of the dev set, looped, over WebRTC the whole time (the
load of that many active rooms on the shared inference server and the event loop). Then one
client asks every clip of the chosen sets in its own room, over real WebRTC/Opus, one after
another with a pause between, and its caption finals are scored against the clip's words.
Sets stay apart: real recordings, piper questions, espeak questions (a voice every model
mishears). Also reports the server's incoming-audio frame counters (lost, concealed, late).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
import uuid
from collections import defaultdict

import httpx
import numpy as np

from bench.audio import load_pcm16k
from bench.devset import build
from bench.metrics import wer
from bench.parley_process import running_parley
from bench.room_access import Account, sign_in
from bench.room_client import RTC_RATE, RoomClient

PAUSE_S = 1.5  # silence after each question: the VAD ends the utterance, the final follows
QUIET_S = 2.5  # no caption event this long after the question's audio: its finals are in
MAX_WAIT_S = 30.0
DEFAULT_SETS = ("real-short", "piper", "espeak")


async def ask_all(url: str, clips) -> list[dict]:
    asker = RoomClient(url, f"questions-{uuid.uuid4().hex[:6]}", "Asker")
    await asker.join()
    results = []
    try:
        for n, clip in enumerate(clips, 1):
            since = len(asker.events)
            audio = load_pcm16k(clip.path, RTC_RATE)
            asker.microphone.say(np.concatenate([audio, np.zeros(int(PAUSE_S * RTC_RATE), np.float32)]))
            await asker.microphone.finished.wait()
            await _quiet(asker, since)
            heard = " ".join(r.event["text"] for r in asker.events[since:]
                             if r.event["type"] == "final" and r.event["participant_id"] == asker.participant_id)
            results.append({"set": clip.set, "name": clip.name, "said": clip.text, "heard": heard,
                            "wer": round(wer(clip.text, heard), 3)})
            print(f"[{n}/{len(clips)}] {clip.set:10} {results[-1]['wer']:.2f}  {heard!r}", file=sys.stderr, flush=True)
    finally:
        await asker.leave()
    return results


async def _quiet(client: RoomClient, since: int) -> None:
    """Until the question's final came (at most MAX_WAIT_S), then no caption of the client's own
    for QUIET_S with its utterance closed: a late final is not taken for the next question's."""
    deadline = time.monotonic() + MAX_WAIT_S
    while time.monotonic() < deadline:
        own = [r for r in client.events[since:] if r.event.get("participant_id") == client.participant_id
               and r.event["type"] in ("interim", "final", "speaking")]
        speaking = [r.event["speaking"] for r in own if r.event["type"] == "speaking"]
        finalized = any(r.event["type"] == "final" for r in own)
        if finalized and time.monotonic() - own[-1].at >= QUIET_S and not (speaking and speaking[-1]):
            return
        await asyncio.sleep(0.1)


async def load_rooms(url: str, count: int, audio: np.ndarray) -> list[RoomClient]:
    clients = []
    for i in range(count):
        client = RoomClient(url, f"load-{i}-{uuid.uuid4().hex[:6]}", f"Load{i}", np.tile(audio, 20))
        await client.join()
        clients.append(client)
    return clients


async def incoming_audio(url: str) -> dict[str, float]:
    """The server's `parley_agent_incoming_audio_frames_all` counters, by outcome."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        headers = await sign_in(http, Account.from_env())
        text = (await http.get("/metrics", headers=headers)).text
    return {m[1]: float(m[2]) for m in re.finditer(r'parley_agent_incoming_audio_frames_all_total\{outcome="(\w+)"\} (\S+)', text)}


def summarize(results: list[dict]) -> dict:
    by_set: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_set[r["set"]].append(r)
    return {name: {"clips": len(rs), "wer": round(wer([r["said"] for r in rs], [r["heard"] for r in rs]), 4),
                   "wrong": [(r["said"], r["heard"]) for r in rs if r["wer"] > 0]}
            for name, rs in by_set.items()}


async def run(load: int, sets: list[str], env: dict[str, str]) -> dict:
    dev = build()
    clips = [c for s in sets for c in dev.clips_of(s)]
    conversation = next(c for c in dev.conversations if c.kind == "spliced-nogap")
    async with running_parley(env) as parley:
        loaders = await load_rooms(parley.url, load, load_pcm16k(conversation.path, RTC_RATE))
        try:
            results = await ask_all(parley.url, clips)
            frames = await incoming_audio(parley.url)
        finally:
            for client in loaders:
                await client.leave()
    return {"load_rooms": load, "sets": summarize(results), "incoming_audio_frames": frames, "clips": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load-rooms", type=int, default=4)
    parser.add_argument("--set", dest="sets", action="append", choices=("librivox", "real-short", "real-other",
                                                                        "piper", "espeak"))
    parser.add_argument("--asr", help="PARLEY_ASR_MODEL for the server (default: the profile's)")
    parser.add_argument("--final-asr", help="PARLEY_FINAL_ASR_MODEL for the server (default: the profile's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = {name: value for name, value in (("PARLEY_ASR_MODEL", args.asr), ("PARLEY_FINAL_ASR_MODEL", args.final_asr))
           if value}
    result = asyncio.run(run(args.load_rooms, args.sets or list(DEFAULT_SETS), env))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, s in result["sets"].items():
            print(f"{name:10} clips {s['clips']:3}  WER {s['wer']:.1%}")
        print("incoming audio frames:", result["incoming_audio_frames"])


if __name__ == "__main__":
    main()
