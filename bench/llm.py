"""LLM reply-path benchmark: time to first token cold vs. with the conversation prefilled.

    python -m bench.llm [--model NAME] [--json]

Loads only the chat model (catalog name; default: the profile's) and replays a meeting
transcript growing turn by turn, the way the agent does: after each turn the conversation is
prefilled; then a question is asked. Prints TTFT p50/p95 cold and warm, and decode tokens/s.
"""

from __future__ import annotations

import argparse
import json
import time

from bench.metrics import percentiles
from inference_server.catalog import profile_entries, resolve
from inference_server.device import configure_threads
from inference_server.models.llm import LlamaCppLLM
from parley.settings import Settings

PERSONA = ("You are Parley, a helpful voice assistant in a meeting. Answer in one or two short spoken "
           "sentences. The transcript below shows who said what.")
TURNS = [
    ("Ana", "Good morning everyone, let's go through the release checklist."),
    ("Ben", "The database migration ran fine on staging last night."),
    ("Ana", "Great. Did the load tests finish?"),
    ("Ben", "Yes, we handled two thousand requests per second with no errors."),
    ("Ana", "And the mobile team said the new login screen is ready."),
    ("Ben", "I still need to update the changelog before we ship."),
]
QUESTIONS = ["Parley, how many requests per second did we handle?", "Parley, what is left to do before we ship?",
             "Parley, did the migration work?"]


def messages(turns: list[tuple[str, str]], question: str | None) -> list[dict[str, str]]:
    transcript = "\n".join(f"{who}: {text}" for who, text in turns)
    content = f"Transcript so far:\n{transcript}"
    if question:
        content += f"\nAna: {question}"
    return [{"role": "system", "content": PERSONA}, {"role": "user", "content": content}]


def first_token(llm: LlamaCppLLM, msgs: list[dict[str, str]]) -> tuple[float, float, str]:
    started = time.monotonic()
    first, count, text = None, 0, []
    for chunk in llm.chat(msgs, max_tokens=48, temperature=0.0):
        if chunk.text:
            count += 1
            text.append(chunk.text)
            first = first or time.monotonic() - started
    total = time.monotonic() - started
    return first or total, count / max(1e-6, total - (first or 0)), "".join(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="", help="catalog name of the chat model")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    threads = configure_threads(settings.threads)
    entry = profile_entries(settings.model_profile, args.model or settings.llm_model)["llm"]
    llm = LlamaCppLLM(entry.name, str(resolve(entry, settings.models_dir)), threads=threads)
    cold, warm, rates, answers = [], [], [], []
    try:
        for question in QUESTIONS:
            # Cold: another conversation was evaluated last, and nothing of this one is cached.
            llm.prefill(messages([("Zed", f"unrelated chatter {question}")], None))
            llm._llama.set_cache(None)
            ttft, _, _ = first_token(llm, messages(TURNS, question))
            cold.append(ttft)
            from llama_cpp import LlamaRAMCache

            llm._llama.set_cache(LlamaRAMCache(capacity_bytes=1 << 30))
            for i in range(1, len(TURNS) + 1):
                llm.prefill(messages(TURNS[:i], None))  # as the agent does while people talk
            llm.prefill(messages([("Zed", "another room's conversation")], None))  # another room meanwhile
            ttft, rate, answer = first_token(llm, messages(TURNS, question))
            warm.append(ttft)
            rates.append(rate)
            answers.append(answer.strip())
    finally:
        llm.close()
    result = {"model": entry.name, "ttft_cold_s": percentiles(cold), "ttft_prefilled_s": percentiles(warm),
              "decode_tokens_per_s": percentiles(rates), "answers": answers}
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
