"""Local language models that write the answers: llama.cpp (xllamacpp) or transformers.

Both stream text deltas for a list of chat messages, greedily (answers must be reproducible); a stream's return
value is its Usage, the token counts the model reports.
"""

from __future__ import annotations

import math
import os
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from rag.errors import ModelNotFoundError, RagError
from rag.models.weights import ModelSource, resolve_generator

if TYPE_CHECKING:
    from rag.settings import ModelSettings

Messages = list[dict[str, str]]


class NoTokenProbabilities(RagError):
    """The generator gives no token probabilities (a model server without logprobs): what reads them cannot run."""


class Usage(NamedTuple):
    """The tokens of one generation, as the model counted them: the whole prompt (cached or not) and what it wrote."""

    prompt_tokens: int
    completion_tokens: int


class Generator(Protocol):
    label: str

    def stream(self, messages: Messages, max_new_tokens: int) -> Iterator[str]:
        """Yield the answer text piece by piece; return the Usage (None where the model reports none), which
        `usage = yield from generator.stream(...)` reads."""
        ...

    def yes_probability(self, messages: Messages) -> float:
        """How likely the reply starts with Yes rather than No (for yes/no judgements); raises
        NoTokenProbabilities where the model gives none."""
        ...


def yes_share(first_tokens: dict[str, float]) -> float:
    """P(Yes) / (P(Yes) + P(No)) over the likeliest first tokens, whatever their case or spacing."""
    yes = sum(p for token, p in first_tokens.items() if token.strip().lower() == "yes")
    no = sum(p for token, p in first_tokens.items() if token.strip().lower() == "no")
    return yes / (yes + no) if yes + no > 0 else 0.5


def chat_request(messages: Messages, max_tokens: int, stream: bool, yes_no: bool = False) -> dict[str, Any]:
    """An OpenAI chat-completions request, as llama.cpp takes it in process and a model server over HTTP: greedy,
    the prompt kept for the next request (llama.cpp; other servers ignore it). `yes_no`: one token, with the ten
    likeliest first tokens' log-probabilities (what yes_probability reads)."""
    request: dict[str, Any] = {
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": stream,
        "cache_prompt": True,
    }
    if stream:  # the token counts, in a last chunk (what usage_of reads)
        request["stream_options"] = {"include_usage": True}
    return {**request, "logprobs": True, "top_logprobs": 10} if yes_no else request


def yes_share_of(top_logprobs: list[dict[str, Any]]) -> float:
    """yes_share over a chat completion's `top_logprobs` of its first token."""
    return yes_share({item["token"]: math.exp(item["logprob"]) for item in top_logprobs})


def usage_of(reply: dict[str, Any]) -> Usage | None:
    """The Usage of an OpenAI reply or chunk carrying `usage` (None where it carries none)."""
    counted = reply.get("usage") or {}
    if not isinstance(counted.get("prompt_tokens"), int) or not isinstance(counted.get("completion_tokens"), int):
        return None
    return Usage(counted["prompt_tokens"], counted["completion_tokens"])


def llama_params(source: ModelSource, threads: int, context_tokens: int, prompt_cache_mb: int) -> Any:
    """llama.cpp's parameters for a GGUF, as this process runs it and as rag.models.llama_server serves it: the
    same numbers whichever way a question reaches the model."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = source.location
    params.n_ctx = context_tokens
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.n_parallel = 1
    params.cache_ram_mib = prompt_cache_mb
    params.verbosity = -1
    params.warmup = False
    return params


class LlamaCppGenerator:
    """GGUF through llama.cpp's server object, in process. Prompt prefixes are cached between calls."""

    def __init__(self, source: ModelSource, threads: int, context_tokens: int, prompt_cache_mb: int = 512) -> None:
        if source.kind != "gguf":
            raise ModelNotFoundError(f"the llama.cpp runtime needs a .gguf file, got {source.location}")
        import xllamacpp

        params = llama_params(source, threads, context_tokens, prompt_cache_mb)
        # The server object also listens on a loopback port; a random key keeps others off it.
        params.api_keys = [secrets.token_hex(16)]
        try:
            self._server = xllamacpp.Server(params)
        except Exception as error:  # noqa: BLE001 - a bad file surfaces here as a generic error
            raise ModelNotFoundError(f"cannot load {source.location} with llama.cpp: {error}") from None
        self.label = source.label
        self._lock = threading.Lock()  # one generation at a time: there are only so many cores

    def stream(self, messages: Messages, max_new_tokens: int) -> Iterator[str]:
        # SimpleQueue: put() never blocks, so a Ctrl-C landing inside get() cannot leave a lock that
        # would block the llama.cpp thread (seen once as a hang under load), and join() below returns.
        pieces: queue.SimpleQueue[str | None | Exception] = queue.SimpleQueue()
        cancelled = threading.Event()
        counted: list[Usage] = []

        def on_chunk(chunk: dict) -> bool:
            counted.extend(filter(None, [usage_of(chunk)]))
            for choice in chunk.get("choices", []):
                text = (choice.get("delta") or {}).get("content")
                if text:
                    pieces.put(text)
            return cancelled.is_set()  # True asks llama.cpp to stop

        def run() -> None:
            try:
                with self._lock:
                    self._server.handle_chat_completions(chat_request(messages, max_new_tokens, True), on_chunk)
            except Exception as error:  # noqa: BLE001 - handed to the consumer below
                pieces.put(error)
            finally:
                pieces.put(None)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        try:
            while (piece := pieces.get()) is not None:
                if isinstance(piece, Exception):
                    raise piece
                yield piece
        finally:
            cancelled.set()
            # a llama.cpp thread still running at interpreter exit aborts the process (e.g. after Ctrl-C)
            worker.join()
        return counted[-1] if counted else None

    def yes_probability(self, messages: Messages) -> float:
        with self._lock:
            reply = self._server.handle_chat_completions(chat_request(messages, 1, False, yes_no=True))
        return yes_share_of(reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"])


# How many of the best logits are read again in float32: the float32 best is within a rounding step of the
# rounded best, so among these unless more than this many tie there; the answer check reads the top ten
EXACT_TOP = 16


def exact_top_logits(head, inputs: tuple, logits):  # noqa: ANN001, ANN201 - torch module and tensors
    """Forward hook on the output layer of a bfloat16 (or float16) model: its best logits, read again in float32.

    bfloat16 keeps 8 bits of mantissa, so logits of 16-32 come out in steps of 0.125: near-equal tokens tie,
    the greedy pick among them is the lowest token id, and the answer check's P(Yes) moves in steps (69 values
    over 400 SQuAD 2.0 questions, 40 of them reading exactly 0.5624: eval/results/squad2-test-transformers/). The best
    EXACT_TOP are recomputed from the same hidden state and their rows of the weight in float32 (a few rows,
    no float32 copy of the matrix); the rest keep their rounded values."""
    import torch

    hidden = inputs[0]
    exact_logits = logits.float()
    top = exact_logits.topk(min(EXACT_TOP, exact_logits.shape[-1]), dim=-1).indices
    exact = torch.einsum("...d,...kd->...k", hidden.float(), head.weight[top].float())
    if getattr(head, "bias", None) is not None:
        exact = exact + head.bias[top].float()
    return exact_logits.scatter(-1, top, exact)


class TransformersGenerator:
    """Any causal LM through transformers. A GGUF is dequantised once and cached as safetensors."""

    def __init__(
        self, source: ModelSource, threads: int, dtype: str, cache_dir: Path, prompt_lookup_tokens: int = 0
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        torch_dtype = getattr(torch, dtype)
        self.label = source.label
        # drafts from the prompt's n-grams, checked by the model: same greedy answer, fewer passes
        self._lookup = {"prompt_lookup_num_tokens": prompt_lookup_tokens} if prompt_lookup_tokens else {}

        def load(location: str | Path) -> None:
            self.tokenizer = AutoTokenizer.from_pretrained(location, trust_remote_code=False)
            self.model = AutoModelForCausalLM.from_pretrained(location, dtype=torch_dtype, trust_remote_code=False)

        try:
            if source.kind != "gguf":
                load(source.location)
            else:
                folder = self._converted(source, dtype, cache_dir)
                try:
                    load(folder)
                except Exception:  # noqa: BLE001 - a damaged cached copy: convert again, once
                    (folder / "complete").unlink(missing_ok=True)
                    load(self._converted(source, dtype, cache_dir))
        except (OSError, ValueError) as error:
            raise ModelNotFoundError(
                f"cannot load generator '{source.location}': {str(error).splitlines()[0]}"
            ) from None
        self.model.eval()
        if torch_dtype in (torch.bfloat16, torch.float16):
            self.model.get_output_embeddings().register_forward_hook(exact_top_logits)
        self._lock = threading.Lock()
        # The KV cache of the last call and the token ids it holds: the next prompt reads only what
        # differs from them (an answer check extends the prompt just answered; without prompt lookup,
        # questions of one kind share the system prompt). Like llama.cpp's cache_prompt.
        self._cache = None
        self._cached_ids: list[int] = []

    @staticmethod
    def _converted(source: ModelSource, dtype: str, cache_dir: Path) -> Path:
        """Dequantising a GGUF takes ~50 s; do it once and keep a safetensors copy."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        gguf = Path(source.location)
        stat = gguf.stat()
        folder = cache_dir / "transformers" / f"{gguf.stem}-{stat.st_size}-{dtype}"
        if (folder / "complete").is_file():
            return folder
        import shutil

        import torch

        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=getattr(torch, dtype))
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model.hf_quantizer = None  # save_pretrained refuses a model that still claims to be quantised
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        partial = folder.with_name(folder.name + f".partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        (partial / "complete").write_text(str(time.time()))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(partial, folder)
        return folder

    def prompt_ids(self, messages: Messages):  # noqa: ANN201 - a torch tensor
        """The chat-templated prompt as token ids, as the model reads it."""
        prompt = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]

    def _reusable_cache(self, ids: list[int]):  # noqa: ANN202 - a transformers Cache or None
        """The last call's cache cut back to the prefix it shares with `ids` (at least one token left to read)."""
        shared = 0
        for old, new in zip(self._cached_ids, ids[:-1], strict=False):
            if old != new:
                break
            shared += 1
        cache, self._cache, self._cached_ids = self._cache, None, []  # in flux until the caller keeps it
        if cache is None or shared == 0:
            return None
        try:
            cache.crop(shared - cache.get_seq_length())  # a negative count: tokens to drop
        except (ValueError, NotImplementedError):  # a cache kind that cannot be cut back: read afresh
            return None
        return cache

    def _keep(self, cache, ids: list[int]) -> None:  # noqa: ANN001 - a transformers Cache
        self._cache = cache
        self._cached_ids = ids[: cache.get_seq_length()] if cache is not None else []

    def stream(self, messages: Messages, max_new_tokens: int) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        input_ids = self.prompt_ids(messages)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        failure: list[Exception] = []
        counted: list[Usage] = []
        cancelled = threading.Event()

        class StopWhenCancelled(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):  # noqa: ANN001, ANN003, ANN204 - transformers' hook
                return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool)

        def run() -> None:
            try:
                with self._lock, torch.inference_mode():
                    ids = input_ids[0].tolist()
                    # transformers 5.24's prompt lookup re-reads the whole prompt into a cache it is given,
                    # so with lookup on an answer starts afresh; what follows it (the check) still reuses it
                    cache = None if self._lookup else self._reusable_cache(ids)
                    output = self.model.generate(
                        input_ids=input_ids,
                        attention_mask=torch.ones_like(input_ids),
                        cache=cache,
                        streamer=streamer,
                        max_new_tokens=max_new_tokens,
                        do_sample=False,
                        top_p=None,
                        top_k=None,
                        temperature=None,
                        pad_token_id=self.tokenizer.eos_token_id,
                        return_dict_in_generate=True,
                        stopping_criteria=StoppingCriteriaList([StopWhenCancelled()]),
                        **self._lookup,
                    )
                    self._keep(output.cache, output.sequences[0].tolist())
                    prompt = input_ids.shape[1]  # sequences are the prompt and what was generated after it
                    counted.append(Usage(prompt, output.sequences.shape[1] - prompt))
            except Exception as error:  # noqa: BLE001 - handed to the consumer below
                failure.append(error)
                streamer.end()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        finally:
            cancelled.set()  # the reader left (Ctrl-C, a closed page): stop generating
            worker.join()  # a generate() thread still alive at interpreter exit aborts the process
        if failure:
            raise failure[0]
        return counted[0] if counted else None

    def yes_probability(self, messages: Messages) -> float:
        import torch
        from transformers import DynamicCache

        input_ids = self.prompt_ids(messages)
        with self._lock, torch.inference_mode():
            ids = input_ids[0].tolist()
            cache = self._reusable_cache(ids)
            if cache is None:
                cache = DynamicCache(config=self.model.config)
            start = cache.get_seq_length()
            logits = self.model(input_ids=input_ids[:, start:], cache=cache, use_cache=True, logits_to_keep=1).logits
            self._keep(cache, ids)
        probabilities = logits[0, -1].float().softmax(-1)
        top = probabilities.topk(10)
        tokens = [self.tokenizer.decode([int(i)]) for i in top.indices]
        return yes_share(dict(zip(tokens, top.values.tolist(), strict=True)))


def load_generator(
    name: str,
    runtime: str,
    threads: int,
    dtype: str,
    context_tokens: int,
    cache_dir: Path,
    prompt_cache_mb: int = 512,
    prompt_lookup_tokens: int = 0,
) -> Generator:
    source = resolve_generator(name, cache_dir)
    if runtime == "llama.cpp" and source.kind == "gguf":
        return LlamaCppGenerator(source, threads, context_tokens, prompt_cache_mb)
    return TransformersGenerator(source, threads, dtype, cache_dir, prompt_lookup_tokens)


def generator_for(models: ModelSettings, cache_dir: Path) -> Generator:
    """The configured generator: the model server at `models.generator_url` when set, else a local model."""
    if models.generator_url:
        from rag.models.server import ServerGenerator  # httpx only where a server is used

        return ServerGenerator(models.generator_url, models.generator, models.generator_timeout_s)
    return load_generator(
        models.generator,
        models.runtime,
        models.threads,
        models.dtype,
        models.context_tokens,
        cache_dir,
        models.prompt_cache_mb,
        models.prompt_lookup_tokens,
    )
