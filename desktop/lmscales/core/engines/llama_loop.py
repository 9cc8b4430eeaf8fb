"""The decode loop of the engine child, on llama.cpp's own C API (through llama-cpp-python's ctypes bindings).

Why not `Llama.generate`: its generator copies every token's logits into a numpy array, samples through a
Python wrapper and keeps Python bookkeeping per token, which cost 4-5 % of the decode rate on a 135M model.
Here each token is: one `llama_decode` of one token, llama.cpp's own sampler chain (`llama_sampler_sample`
reads the logits where they are), one `llama_token_to_piece` into a reused buffer. Nothing else per token
but the stop-string check and a time stamp.

The prompt reuses what the context already holds (as llama.cpp's server does with `cache_prompt`): the
tokens shared with the previous run's prompt and answer stay in the KV cache, and only the rest is
evaluated, so a chat's next turn pays for its new tokens only. Without reuse the cache is cleared first.

Deltas leave in small batches (`DeltaBatcher`): the first piece at once (the time to first token must not
wait), then every `FLUSH_SECONDS` or `FLUSH_TOKENS` pieces. Every piece carries its own `perf_counter()`
stamp taken here, so the rate the parent computes does not depend on when the pipe delivered it.
"""

from __future__ import annotations

import codecs
import ctypes
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lmscales.core.engines.stops import StopFilter

# Sampling beyond the shared request fields: llama.cpp's own server defaults, the same for every local run.
TOP_K = 40
MIN_P = 0.05

FLUSH_SECONDS = 0.010
FLUSH_TOKENS = 8


class DecodeError(RuntimeError):
    """llama_decode failed for a reason other than our own abort."""


class Aborted(Exception):
    """The abort callback stopped a prompt evaluation (a cancel)."""


@dataclass
class DeltaBatcher:
    """Collects (stamp, text) pieces and hands them to `send` in batches: the first at once, then when
    `FLUSH_TOKENS` are waiting or `FLUSH_SECONDS` have passed since the last send."""

    send: Callable[[list[tuple[float, str]]], None]
    seconds: float = FLUSH_SECONDS
    tokens: int = FLUSH_TOKENS
    pending: list[tuple[float, str]] = field(default_factory=list)
    sent_any: bool = False
    last_flush: float = 0.0

    def add(self, stamp: float, text: str) -> None:
        self.pending.append((stamp, text))
        if not self.sent_any or len(self.pending) >= self.tokens or stamp - self.last_flush >= self.seconds:
            self.flush(stamp)

    def flush(self, now: float | None = None) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self.send(batch)
            self.sent_any = True
        self.last_flush = time.perf_counter() if now is None else now


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for index in range(n):
        if a[index] != b[index]:
            return index
    return n


@dataclass(frozen=True)
class Sampling:
    temperature: float
    top_p: float
    seed: int


@dataclass
class RunOutcome:
    output_tokens: int = 0
    stop_reason: str = "length"
    cached_prompt_tokens: int = 0


class _TextWorker:
    """Turns sampled tokens into text on its own thread: piece, incremental UTF-8, stop strings, batches out.
    `stopped_after`: the number of tokens up to the one that completed a stop string; `error`: what `emit`
    raised (the pipe closed), for the decode loop to raise in turn."""

    def __init__(self, piece: Callable[[int], bytes], stop: Sequence[str], batcher: DeltaBatcher) -> None:
        self.tokens: queue.SimpleQueue[tuple[float, int] | None] = queue.SimpleQueue()
        self.stopped_after: int | None = None
        self.error: BaseException | None = None
        self._piece, self._stops, self._batcher = piece, StopFilter(stop), batcher
        self._thread = threading.Thread(target=self._work, name="engine-text", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        """No more tokens: the rest of the text (held back by the decoder or a possible stop string) goes out."""
        self.tokens.put(None)
        self._thread.join()

    def _work(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stops, batcher, seen, made = self._stops, self._batcher, 0, 0.0
        ended = False
        try:
            while True:
                try:  # a piece waits at most `batcher.seconds`, even when the next token is slow to come
                    item = self.tokens.get(timeout=batcher.seconds if batcher.pending else None)
                except queue.Empty:
                    batcher.flush()
                    continue
                if item is None:
                    break
                if self.stopped_after is not None:
                    continue  # decoded past the stop string: not part of the answer
                made, token = item
                seen += 1
                text = stops.feed(decoder.decode(self._piece(token)))
                if text:
                    batcher.add(made, text)
                if stops.stopped:
                    self.stopped_after = seen
            ended = True
            tail = stops.feed(decoder.decode(b"", final=True)) + stops.flush()
            if tail:
                batcher.add(max(made, time.perf_counter()), tail)
            batcher.flush()
        except BaseException as error:  # the pipe closed under us: the decode loop stops and raises it
            self.error = error
            while not ended and self.tokens.get() is not None:  # let finish() return
                pass


class LlamaLoop:
    """One context's tokens and decode loop. `cached` mirrors what the KV cache holds for sequence 0."""

    def __init__(self, llama: Any) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self.llama = llama
        self.ctx = llama._ctx.ctx
        self.vocab = llama._model.vocab
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.n_batch = int(llama_cpp.llama_n_batch(self.ctx))
        self.cached: list[int] = []
        self._one = (llama_cpp.llama_token * 1)()
        self._one_batch = llama_cpp.llama_batch_get_one(self._one, 1)
        self._piece = ctypes.create_string_buffer(64)

    # -- the KV cache ---------------------------------------------------------------------------------------
    def forget(self) -> None:
        self._lib.llama_memory_clear(self.memory, True)
        self.cached = []

    def _keep(self, prompt: Sequence[int], reuse: bool) -> int:
        """Drop what the cache holds beyond the part `prompt` shares with it; return how many tokens stay. At
        least the prompt's last token is always evaluated again: its logits give the first answer token."""
        if not reuse:
            self.forget()
            return 0
        keep = min(common_prefix(self.cached, prompt), len(prompt) - 1)
        if keep <= 0:
            self.forget()
            return 0
        if keep < len(self.cached):
            if not self._lib.llama_memory_seq_rm(self.memory, 0, keep, -1):
                self.forget()  # this memory type cannot cut a sequence: start over
                return 0
            del self.cached[keep:]
        return keep

    # -- decoding -------------------------------------------------------------------------------------------
    def _decode(self, tokens: Sequence[int]) -> None:
        """Evaluate `tokens` after what is cached (positions follow the sequence; only the last token's logits
        are kept), in chunks of the context's batch size."""
        lib = self._lib
        for start in range(0, len(tokens), self.n_batch):
            chunk = tokens[start:start + self.n_batch]
            array = (lib.llama_token * len(chunk))(*chunk)
            code = lib.llama_decode(self.ctx, lib.llama_batch_get_one(array, len(chunk)))
            if code != 0:
                # Part of the chunk may be in the cache now: nothing about it can be trusted any more.
                self.forget()
                if code == 2:
                    raise Aborted
                raise DecodeError(f"llama_decode returned {code}")
            self.cached.extend(chunk)

    def _decode_one(self, token: int) -> None:
        self._one[0] = token
        code = self._lib.llama_decode(self.ctx, self._one_batch)
        if code != 0:
            self.forget()
            raise DecodeError(f"llama_decode returned {code}")
        self.cached.append(token)

    def _sampler(self, sampling: Sampling) -> Any:
        lib = self._lib
        params = lib.llama_sampler_chain_default_params()
        params.no_perf = True
        chain = lib.llama_sampler_chain_init(params)
        if sampling.temperature <= 0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
            return chain
        # The order llama-cpp-python and llama.cpp's server use: top-k, top-p, min-p, temperature, draw.
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_k(TOP_K))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(sampling.top_p, 1))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_min_p(MIN_P, 1))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(sampling.temperature))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(sampling.seed & 0xFFFFFFFF))
        return chain

    def piece(self, token: int) -> bytes:
        lib, buffer = self._lib, self._piece
        n = lib.llama_token_to_piece(self.vocab, token, buffer, len(buffer), 0, False)
        if n < 0:  # a longer piece than the buffer: grow it once and for all
            self._piece = buffer = ctypes.create_string_buffer(-n)
            n = lib.llama_token_to_piece(self.vocab, token, buffer, len(buffer), 0, False)
        return buffer.raw[:n]

    def run(
        self,
        prompt: Sequence[int],
        sampling: Sampling,
        max_tokens: int,
        stop: Sequence[str],
        reuse: bool,
        cancelled: Callable[[], bool],
        emit: Callable[[list[tuple[float, str]]], None],
        on_first_token: Callable[[], None] = lambda: None,
    ) -> RunOutcome:
        """Evaluate the prompt, then sample and decode until end of generation, a stop string, `max_tokens`
        or `cancelled()`; pieces go to `emit` in batches. Raises `Aborted` when a cancel interrupted the
        prompt and `DecodeError` when llama.cpp failed.

        The text of each token (piece, UTF-8, stop strings, batching, the pipe) is made on a second thread
        while this one is inside the next `llama_decode` (ctypes lets go of the GIL there), so none of that
        work is on the path from one token to the next. A stop string found there is seen here before the
        next token is drawn; the tokens that may have been decoded past it (one, or more when that thread
        lags) stay out of the answer and its count."""
        lib = self._lib
        outcome = RunOutcome()
        kept = self._keep(prompt, reuse)
        outcome.cached_prompt_tokens = kept
        self._decode(prompt[kept:])
        on_first_token()
        sampler = self._sampler(sampling)
        text = _TextWorker(self.piece, stop, DeltaBatcher(emit))
        text.start()
        perf_counter, is_eog, vocab, ctx = time.perf_counter, lib.llama_vocab_is_eog, self.vocab, self.ctx
        sample, put, produced = lib.llama_sampler_sample, text.tokens.put, 0
        try:
            while True:
                if cancelled():
                    outcome.stop_reason = "cancelled"
                    break
                if text.stopped_after is not None or text.error is not None:
                    break
                token = sample(sampler, ctx, -1)
                made = perf_counter()
                if is_eog(vocab, token):
                    outcome.stop_reason = "stop"
                    break
                produced += 1
                put((made, token))
                if produced >= max_tokens:
                    break
                self._decode_one(token)
        finally:
            lib.llama_sampler_free(sampler)
            text.finish()
        if text.error is not None:
            raise text.error
        if text.stopped_after is not None:
            outcome.stop_reason, produced = "stop", text.stopped_after
        outcome.output_tokens = produced
        return outcome

    # -- measuring threads ----------------------------------------------------------------------------------
    def measure(self, threads: int, prompt: Sequence[int], decode_tokens: int) -> dict[str, float]:
        """One thread count's figures for one phase: with `decode_tokens` 0, the evaluation of `prompt` from an
        empty cache; otherwise `decode_tokens` greedy tokens one at a time after `prompt` (not timed). Wall
        seconds and this process's CPU-seconds (all its threads)."""
        lib = self._lib
        lib.llama_set_n_threads(self.ctx, threads, threads)
        self.forget()
        wall, cpu = time.perf_counter(), time.process_time()
        self._decode(prompt)
        if not decode_tokens:
            figures = {"threads": threads, "prompt_tokens": len(prompt), "prefill_seconds": time.perf_counter() - wall,
                       "prefill_cpu_seconds": time.process_time() - cpu}
            self.forget()
            return figures
        sampler = self._sampler(Sampling(temperature=0.0, top_p=1.0, seed=0))
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(decode_tokens):
                token = lib.llama_sampler_sample(sampler, self.ctx, -1)
                if lib.llama_vocab_is_eog(self.vocab, token):
                    token = 0  # keep decoding: the rate is what is measured, not the text
                self._decode_one(token)
            figures = {"threads": threads, "decode_tokens": decode_tokens,
                       "decode_seconds": time.perf_counter() - wall, "decode_cpu_seconds": time.process_time() - cpu}
        finally:
            lib.llama_sampler_free(sampler)
        self.forget()
        return figures
