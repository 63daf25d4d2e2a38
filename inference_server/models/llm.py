"""Chat LLM: streamed tokens, with the conversation's prompt prefix kept in a KV cache."""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .base import Capabilities, ModelBackend

log = logging.getLogger(__name__)

# A 1.5B model evaluates ~80-100 prompt tokens a second on 2 CPU cores. The room's prefill runs
# after every final, so a chunk is what the next final waits behind: 64 tokens held it 0.35-1.2 s
# on the real call, 16 hold it ~0.2 s for 18 % less throughput (8 halve it: llama.cpp's small-batch
# path). A whole prompt in one job held a speaker's final back for seconds.
PREFILL_CHUNK_TOKENS = 16


@dataclass(frozen=True)
class ChatChunk:
    text: str
    finish_reason: str | None = None  # set on the last chunk: "stop" or "length"
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LLM(ModelBackend):
    capability = "llm"
    context_length: int

    def chat(self, messages: Sequence[dict[str, str]], *, max_tokens: int = 256, temperature: float = 0.7,
             top_p: float = 0.95, stop: Sequence[str] = ()) -> Iterator[ChatChunk]:
        """Stream the assistant's answer to `messages` ({"role", "content"} dicts)."""
        if not messages:
            raise ValueError("messages must not be empty")
        return self._chat_impl(list(messages), max_tokens, temperature, top_p, list(stop))

    def prefill(self, messages: Sequence[dict[str, str]]) -> int:
        """Evaluate `messages` into the KV cache ahead of a reply; returns the prompt's tokens.

        A voice reply can start fast only if the conversation so far is already evaluated
        when the user stops talking (prompt processing dominates time to first token on CPU).
        """
        evaluated = 0
        for evaluated in self.prefill_chunks(messages):
            pass
        return evaluated

    def prefill_chunks(self, messages: Sequence[dict[str, str]], *,
                       chunk_tokens: int = PREFILL_CHUNK_TOKENS) -> Iterator[int]:
        """`prefill`, `chunk_tokens` at a time: yields the prompt tokens evaluated so far (the last
        value is the prompt's length), so the scheduler can run urgent work between chunks."""
        return self._prefill_impl(list(messages), chunk_tokens)

    def count_prompt_tokens(self, messages: Sequence[dict[str, str]]) -> int:
        """The prompt's tokens exactly as `chat` will evaluate them: chat template included."""
        return self._count_prompt_impl(list(messages))

    @abstractmethod
    def _prefill_impl(self, messages: list[dict[str, str]], chunk_tokens: int) -> Iterator[int]: ...

    @abstractmethod
    def _count_prompt_impl(self, messages: list[dict[str, str]]) -> int: ...

    @abstractmethod
    def _chat_impl(self, messages: list[dict[str, str]], max_tokens: int, temperature: float,
                   top_p: float, stop: list[str]) -> Iterator[ChatChunk]: ...


class LlamaCppLLM(LLM):
    """GGUF models through llama-cpp-python; `gpu_layers=-1` offloads every layer (GPU profile)."""

    backend = "llama-cpp"

    def __init__(self, name: str, path: str, *, device: str = "cpu", threads: int = 0,
                 context_length: int = 4096, gpu_layers: int = 0, cache_bytes: int = 1 << 30) -> None:
        super().__init__(name, path=path, device=device, capabilities=Capabilities(streaming=True))
        from llama_cpp import Llama

        self._llama = Llama(model_path=path, n_ctx=context_length, n_threads=threads or None,
                            n_gpu_layers=gpu_layers if device != "cpu" else 0, verbose=False)
        # Prompt-prefix states of recent conversations (one per room), so a reply whose
        # transcript is already evaluated starts at once instead of re-reading the prompt.
        self._llama.set_cache(_compact_ram_cache(cache_bytes))
        self.context_length = context_length
        self._formatter = _template_formatter(self._llama)

    def close(self) -> None:
        self._llama.close()

    def _prefill_impl(self, messages: list[dict[str, str]], chunk_tokens: int) -> Iterator[int]:
        llama = self._llama
        if self._formatter is None:  # a built-in chat format renders its prompt inside llama-cpp-python
            # One generated token is the cheapest way through llama-cpp-python's cache-saving path.
            yield int(llama.create_chat_completion(messages=messages, max_tokens=1)["usage"]["prompt_tokens"])
            return
        tokens = self._prompt_tokens(messages)
        evaluated = self._restore_longest_prefix(tokens)
        log.debug("prefill: %d of %d prompt tokens evaluated already", evaluated, len(tokens))
        yield evaluated
        if evaluated == len(tokens):
            return
        llama.n_tokens = evaluated  # `eval` drops the KV cache past it before decoding
        for start in range(evaluated, len(tokens), chunk_tokens):
            llama.eval(tokens[start:start + chunk_tokens])
            yield llama.n_tokens
        # The next prompt that extends these tokens (the reply's) starts from this state.
        llama.cache[tokens] = llama.save_state()

    def _restore_longest_prefix(self, tokens: list[int]) -> int:
        """Bring the context to the longest evaluated prefix of `tokens` (live, or a saved state,
        as llama-cpp-python's own completion does); returns its length."""
        from llama_cpp import Llama

        llama = self._llama
        live = Llama.longest_token_prefix(llama.input_ids[:llama.n_tokens].tolist(), tokens)
        try:
            saved = llama.cache[tokens]
        except KeyError:
            return live
        if Llama.longest_token_prefix(saved.input_ids.tolist(), tokens) > live:
            llama.load_state(saved)
        return Llama.longest_token_prefix(llama.input_ids[:llama.n_tokens].tolist(), tokens)

    def _prompt_tokens(self, messages: list[dict[str, str]]) -> list[int]:
        """As llama-cpp-python's template handler renders and tokenizes the prompt."""
        rendered = self._formatter(messages=messages)
        return self._llama.tokenize(rendered.prompt.encode(), add_bos=not rendered.added_special, special=True)

    def _count_prompt_impl(self, messages: list[dict[str, str]]) -> int:
        if self._formatter is None:  # a built-in chat format: an upper estimate of its markup
            return sum(len(self._llama.tokenize(m["content"].encode(), add_bos=False)) + 8 for m in messages) + 8
        return len(self._prompt_tokens(messages))

    def _chat_impl(self, messages: list[dict[str, str]], max_tokens: int, temperature: float,
                   top_p: float, stop: list[str]) -> Iterator[ChatChunk]:
        if self._formatter is not None:
            tokens = self._prompt_tokens(messages)
            log.debug("chat: %d of %d prompt tokens evaluated already", self._restore_longest_prefix(tokens),
                      len(tokens))
        stream = self._llama.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                                    temperature=temperature, top_p=top_p,
                                                    stop=stop or None, stream=True)
        produced = 0
        finish: str | None = None
        for part in self._unsaved(stream):
            choice = part["choices"][0]
            text = choice["delta"].get("content") or ""
            finish = choice.get("finish_reason") or finish
            if text:
                produced += 1
                yield ChatChunk(text=text)
        yield ChatChunk(text="", finish_reason=finish or "stop", completion_tokens=produced)

    def _unsaved(self, stream: Iterator[dict]) -> Iterator[dict]:
        """`stream`'s parts, with llama-cpp-python's cache out of its reach while it runs.

        It saves the whole context after the last token (0.2-0.5 s on 2 cores) inside the job
        that ends the stream, so the last sentence's speech waited for it. The prompt's prefix is
        restored above instead, and the room's next prefill saves what its next reply extends.
        Detached per step only: between steps the cache is there for everyone else.
        """
        llama = self._llama
        while True:
            cache = llama.cache
            if self._formatter is not None:
                llama.cache = None
            try:
                part = next(stream, None)
            finally:
                llama.cache = cache
            if part is None:
                return
            yield part


def _template_formatter(llama):
    """The Jinja chat formatter llama-cpp-python builds from the model's own chat template."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llama.metadata.get("tokenizer.chat_template")
    if template is None or llama.chat_handler is not None or llama.chat_format != "chat_template.default":
        return None

    def text(token: int) -> str:
        return llama.detokenize([token], special=True).decode("utf-8", errors="ignore") if token != -1 else ""

    return Jinja2ChatFormatter(template=template, eos_token=text(llama.token_eos()), bos_token=text(llama.token_bos()),
                               stop_token_ids=[llama.token_eos()])


def _compact_ram_cache(capacity_bytes: int):
    """llama-cpp-python's RAM cache, minus a 311 MB copy per entry.

    Each saved state carries a copy of the logits buffer (n_batch x n_vocab floats: 311 MB
    for Qwen's 152k vocabulary), which the cache does not count against its capacity; a few
    rooms' states grew the server past 7 GB. Only the last row can matter after a reload
    (sampling continues from it), and `load_state` broadcasts a single row back.
    """
    from llama_cpp import LlamaRAMCache

    class CompactRAMCache(LlamaRAMCache):
        def __setitem__(self, key, value) -> None:
            value.scores = value.scores[-1:].copy()
            super().__setitem__(key, value)

    return CompactRAMCache(capacity_bytes=capacity_bytes)
