"""The floor of each voice-to-voice stage on this machine: each model called alone, nothing queued.

    python -m bench.stage_floor [--repeat 5] [--json]

Default models. Per stage the median of `--repeat` calls after one warm-up: VAD per 32 ms
frame; the ASR decode of a ~2 s piper question (the beam finals use, and greedy as interims
do); the end-of-turn model on that question; the LLM's first token of a reply to it with the
system prompt already evaluated (a warm prefix, as the agent's prefill leaves it); the TTS's
first audio chunk of a one-sentence reply. With the silence the turn waits before its pause is
decoded (`sentence_pause_ms` plus a VAD frame), their sum is the least a reply can take.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from agent.conversation.prompts import PromptLibrary, ReplyPrompt
from bench.audio import PIPER_JOE, render_turn
from bench.devset.questions import QUESTIONS
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    models, _, _ = load_models(settings)
    audio = render_turn(PIPER_JOE, QUESTION)
    frame = audio[:models.vad.frame_samples]
    state = models.vad.new_state()
    system = ReplyPrompt(PromptLibrary(), assistant_name="Parley", room="bench").system(["Alex"])
    models.llm.prefill([{"role": "system", "content": system}])
    questions = iter(QUESTIONS * 2)

    def first_token() -> None:  # a new question each time: only the system prompt is a cached prefix
        messages = [{"role": "system", "content": system}, {"role": "user", "content": f"Alex: {next(questions)}"}]
        _first(models.llm.chat(messages, max_tokens=8, temperature=0.0, top_p=1.0))
    stages = {
        "question_s": round(len(audio) / 16000, 2),
        "vad_frame": _median_s(lambda: models.vad.speech_prob(state, frame), args.repeat),
        "pause_before_decode": settings.sentence_pause_ms / 1000 + models.vad.frame_samples / 16000,
        "asr_decode_beam": _median_s(lambda: models.asr.recognize([audio]), args.repeat),
        "asr_decode_greedy": _median_s(lambda: models.asr.recognize([audio], beam_size=1), args.repeat),
        "turn_model": _median_s(lambda: models.turn.end_of_turn([audio]), args.repeat) if models.turn else None,
        "llm_first_token_warm_prefix": _median_s(first_token, args.repeat),
        "tts_first_audio": _median_s(lambda: _first(models.tts.synthesize(REPLY)), args.repeat),
    }
    floor = sum(stages[k] for k in ("pause_before_decode", "asr_decode_beam", "llm_first_token_warm_prefix",
                                    "tts_first_audio"))
    stages["floor_question_words_decide"] = round(floor, 3)
    stages["llm"], stages["asr"] = models.llm.name, models.asr.name
    models.close()
    if args.json:
        print(json.dumps(stages))
    else:
        for name, value in stages.items():
            print(f"{name:30s} {value}")


if __name__ == "__main__":
    main()
