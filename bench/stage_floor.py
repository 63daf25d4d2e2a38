"""The floor of each voice-to-voice stage on this machine: each model called alone, nothing queued.

    python -m bench.stage_floor [--repeat 5] [--json]

Default models. Per stage the median of `--repeat` calls after one warm-up: VAD per 32 ms
frame; the ASR decode of a ~2 s piper question (tiny.en's beam search, greedy as interims do,
and the finals' recognizer, which the sum below counts); the end-of-turn model on that question;
the LLM's first token of a reply to it with the system prompt already evaluated (a warm prefix,
as the agent's prefill leaves it); the TTS's first audio chunk of a one-sentence reply. With the
silence the turn waits before its pause is decoded (`sentence_pause_ms` plus a VAD frame), their
sum is the least a reply can take.

The voice starts on the reply's first piece (the agent's SentenceSplitter), not its first
token, so the LLM's share is also timed to that piece, with the time of one decoded token
beside it. A token reads every weight once: the model file's size over the machine's memory
read speed (each runtime thread streaming its own 256 MB array) bounds any decode on this CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from agent.conversation.prompts import PromptLibrary, ReplyPrompt
from agent.conversation.sentences import SentenceSplitter
from bench.audio import PIPER_JOE, render_turn
from bench.devset.questions import QUESTIONS
from bench.machine import MachineWatch
from inference_server.loader import load_models
from parley.settings import Settings

QUESTION = "What is the capital of France?"
REPLY = "The capital of France is Paris."


def _median_s(call, repeat: int) -> float:
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 4)


def _first(iterator) -> None:
    next(iter(iterator))
    if hasattr(iterator, "close"):
        iterator.close()


def _first_piece(chunks) -> int:
    """Reads `chunks` until the agent's splitter has the first piece for the voice; returns its tokens."""
    splitter, tokens = SentenceSplitter(), 0
    with contextlib.closing(iter(chunks)) as stream:
        for chunk in stream:
            tokens += 1
            if splitter.push(chunk.text):
                return tokens
    return tokens


def _memory_read_gb_s(threads: int) -> float:
    """All `threads` streaming their own 256 MB array at once (numpy's sum lets go of the GIL)."""
    blocks = [np.ones(32 * 1024 * 1024) for _ in range(threads)]  # far past the caches
    with ThreadPoolExecutor(threads) as pool:
        started = time.perf_counter()
        for _ in pool.map(lambda block: [block.sum() for _ in range(5)], blocks):
            pass
        elapsed = time.perf_counter() - started
    return round(5 * sum(block.nbytes for block in blocks) / elapsed / 1e9, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    watch = MachineWatch()
    settings = Settings()
    models, _, threads = load_models(settings)
    audio = render_turn(PIPER_JOE, QUESTION)
    frame = audio[:models.vad.frame_samples]
    state = models.vad.new_state()
    system = ReplyPrompt(PromptLibrary(), assistant_name="Parley", room="bench").system(["Alex"])
    models.llm.prefill([{"role": "system", "content": system}])
    questions = iter(QUESTIONS * 2)

    def ask(question: str, max_tokens: int):
        messages = [{"role": "system", "content": system}, {"role": "user", "content": f"Alex: {question}"}]
        return models.llm.chat(messages, max_tokens=max_tokens, temperature=0.0, top_p=1.0)

    def first_token() -> None:  # a new question each time: only the system prompt is a cached prefix
        _first(ask(next(questions), 8))

    piece_tokens: list[int] = []
    token_times: list[float] = []

    def first_piece() -> None:
        piece_tokens.append(_first_piece(ask(next(questions), 32)))

    def one_token() -> None:
        with contextlib.closing(iter(ask(QUESTION, 32))) as stream:
            next(stream)  # the prompt is evaluated by now
            started = time.perf_counter()
            next(stream)
            token_times.append(time.perf_counter() - started)

    stages = {
        "question_s": round(len(audio) / 16000, 2),
        "vad_frame": _median_s(lambda: models.vad.speech_prob(state, frame), args.repeat),
        "pause_before_decode": settings.sentence_pause_ms / 1000 + models.vad.frame_samples / 16000,
        "asr_decode_beam": _median_s(lambda: models.asr.recognize([audio]), args.repeat),
        "asr_decode_greedy": _median_s(lambda: models.asr.recognize([audio], beam_size=1), args.repeat),
        "asr_decode_final": _median_s(lambda: models.finals_asr.recognize([audio]), args.repeat),
        "turn_model": _median_s(lambda: models.turn.end_of_turn([audio]), args.repeat) if models.turn else None,
        "llm_first_token_warm_prefix": _median_s(first_token, args.repeat),
        "llm_first_piece_warm_prefix": _median_s(first_piece, args.repeat),
        "tts_first_audio": _median_s(lambda: _first(models.tts.synthesize(REPLY)), args.repeat),
    }
    for _ in range(args.repeat):
        one_token()
    stages["llm_first_piece_tokens"] = statistics.median(piece_tokens)
    stages["llm_decode_token"] = round(statistics.median(token_times), 4)
    weights_gb = os.path.getsize(models.llm.path) / 1e9
    stages["llm_weights_gb"] = round(weights_gb, 3)
    stages["memory_read_gb_s"] = _memory_read_gb_s(threads)
    stages["llm_decode_token_bound"] = round(weights_gb / stages["memory_read_gb_s"], 4)
    before_llm = stages["pause_before_decode"] + stages["asr_decode_final"]
    stages["floor_question_words_decide"] = round(before_llm + stages["llm_first_token_warm_prefix"]
                                                  + stages["tts_first_audio"], 3)
    stages["floor_to_first_piece_audio"] = round(before_llm + stages["llm_first_piece_warm_prefix"]
                                                 + stages["tts_first_audio"], 3)
    stages["machine"] = watch.describe()
    stages["llm"], stages["asr"], stages["final_asr"] = models.llm.name, models.asr.name, models.finals_asr.name
    models.close()
    if args.json:
        print(json.dumps(stages))
    else:
        for name, value in stages.items():
            print(f"{name:30s} {value}")


if __name__ == "__main__":
    main()
