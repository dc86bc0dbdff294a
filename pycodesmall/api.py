"""The public functions: `load`, `complete`, `complete_batch`."""

from __future__ import annotations

import numbers
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pycodesmall import hub
from pycodesmall.errors import ConfigError
from pycodesmall.pretrained import CodeModel, available_memory
from pycodesmall.runtime import SamplingParams, StopRules
from pycodesmall.runtime.speculative import PromptLookup
from pycodesmall.tokenizer import PythonTokenizer
from pycodesmall.validate import Problem, Validation, validate as validate_text

__all__ = ["load", "complete", "complete_batch", "Completion", "validate_completion", "PromptIds",
           "encode_request", "DEFAULT_REPETITION_PENALTY"]

# Greedy decoding of the released 4M-parameter model loops on many prompts ("the list of
# the list of ..."); 1.2 on tokens the completion already used stops that. Benchmarks
# pass 1.0 (plain greedy), as the literature's protocols do.
DEFAULT_REPETITION_PENALTY = 1.2


@dataclass
class Completion:
    """One completion.

    text: what to insert at the cursor (cut to its valid part when validated). valid: the
    completion parses in context (None when validation was off). tokens: how many tokens
    the model generated. logprob: their total log-probability under the model.
    finish_reason: "eos", "stop" or "length". problems: pyflakes findings it introduces.
    raw_text: the text before validation cut it. prompt_tokens_cut: how many prompt tokens
    were left out to fit the context (0 normally). stop_rule: the stop rule that cut the text
    ("block_end", "max_lines", "stop_string"), None where none did.
    """

    text: str
    valid: bool | None
    tokens: int
    logprob: float
    finish_reason: str
    problems: list[Problem] = field(default_factory=list)
    raw_text: str = ""
    prompt_tokens_cut: int = 0
    stop_rule: str | None = None


def validate_completion(prefix: str, completion: Completion, suffix: str = "") -> Validation:
    """`validate` the completion's raw text, told whether generation was stopped before the
    model ended it: the token cap and the line limit may leave it open (a block header whose
    body was to come next), the model's own end, the block end and stop strings may not."""
    return validate_text(prefix, completion.raw_text, suffix,
                         cut_off=completion.finish_reason == "length",
                         line_cut=completion.stop_rule == "max_lines")


def load(name: str | None = None, revision: str | None = None, device: str = "auto",
         backend: str = "auto") -> CodeModel:
    """Load a model by released name, local directory or Hub repo id ('org/name').

    Without a name, the default released model, which is bundled with the package.
    """
    name = name or hub.DEFAULT_MODEL
    directory = hub.resolve(name, revision)
    return CodeModel.from_directory(directory, name=str(name), device=device, backend=backend,
                                    require_checksum=hub.is_released(name))


_default_models: dict[str, CodeModel] = {}
_default_lock = threading.Lock()


def _model_for(model: CodeModel | str | None) -> CodeModel:
    """The given model, or one loaded by name once per process and reused."""
    if isinstance(model, CodeModel):
        return model
    name = model or hub.DEFAULT_MODEL
    with _default_lock:
        if name not in _default_models:
            _default_models[name] = load(name)
        return _default_models[name]


def complete(
    prefix: str,
    model: CodeModel | str | None = None,
    *,
    suffix: str = "",
    n: int = 1,
    max_new_tokens: int = 64,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    max_lines: int | None = None,
    stop: Sequence[str] = (),
    stop_at_block_end: bool = True,
    validate: bool = True,
    repetition_penalty: float = DEFAULT_REPETITION_PENALTY,
    should_cancel: Callable[[], bool] | None = None,
) -> Completion | list[Completion]:
    """Complete Python code at the cursor, between `prefix` and an optional `suffix`.

    Returns one `Completion`, or a list of `n` when n > 1. Generation stops at the end of
    the block being written (`stop_at_block_end`), after `max_lines` lines, at any `stop`
    string, or after `max_new_tokens`. With `validate`, each completion is cut to the
    longest part that is valid Python in context (see `validate_completion`): one that
    `max_lines` or `max_new_tokens` stopped may end open, in a block header say.
    `repetition_penalty` (1 turns it off) keeps small models out of loops; plain greedy
    decoding (temperature 0, penalty 1) on ONNX Runtime drafts tokens from the prompt
    (prompt lookup), which gives the same text in fewer model calls.
    """
    results = complete_batch(
        [prefix], model, suffixes=[suffix], n=n, max_new_tokens=max_new_tokens,
        temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, max_lines=max_lines,
        stop=stop, stop_at_block_end=stop_at_block_end, validate=validate,
        repetition_penalty=repetition_penalty, should_cancel=should_cancel)[0]
    return results[0] if n == 1 else results


def complete_batch(
    prefixes: Sequence[str],
    model: CodeModel | str | None = None,
    *,
    suffixes: Sequence[str] | None = None,
    n: int = 1,
    max_new_tokens: int = 64,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    max_lines: int | None = None,
    stop: Sequence[str] = (),
    stop_at_block_end: bool = True,
    validate: bool = True,
    repetition_penalty: float = DEFAULT_REPETITION_PENALTY,
    should_cancel: Callable[[], bool] | None = None,
) -> list[list[Completion]]:
    """`complete` for several prompts decoded as one batch; returns n completions per prompt."""
    if isinstance(prefixes, str):
        raise ConfigError("complete_batch takes a list of prefixes; complete() takes one")
    prefixes = list(prefixes)
    if not prefixes:
        raise ConfigError("give at least one prompt")
    suffixes = list(suffixes) if suffixes is not None else [""] * len(prefixes)
    if len(suffixes) != len(prefixes):
        raise ConfigError("give one suffix per prefix")
    if isinstance(stop, str):
        stop = (stop,)
    for name, value in (("n", n), ("max_new_tokens", max_new_tokens)):
        if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1):
            raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
    for index, (prefix, suffix) in enumerate(zip(prefixes, suffixes)):
        which = "" if len(prefixes) == 1 else f" {index + 1}"
        _check_text(f"prefix{which}", prefix)
        _check_text(f"suffix{which}", suffix)
    for text in stop:
        _check_text("stop", text)
    sampling = SamplingParams(temperature, top_k, top_p, seed, repetition_penalty)
    StopRules(max_lines=max_lines)  # checks max_lines before a model is loaded
    model = _model_for(model)
    if max_new_tokens >= model.context_length:
        raise ConfigError(f"max_new_tokens {max_new_tokens} leaves no room for the prompt in "
                          f"this model's {model.context_length}-token context")
    tok = model.tokenizer
    prompts, detokenizers, rules, first_tokens, cut = [], [], [], [], []
    for prefix, suffix in zip(prefixes, suffixes):
        if not prefix.strip() and not suffix.strip():
            raise ConfigError("empty prompt: give some code to complete")
        prompt = encode_request(tok, prefix, suffix, model.context_length - max_new_tokens)
        prompts.append(prompt.ids)
        first_tokens.append(prompt.first_tokens)
        cut.append(prompt.tokens_cut)
        detokenizers.append(lambda prompt=prompt: tok.continuation_decoder(prompt.state, prompt.healed))
        rules.append(StopRules(line_prefix=prefix.rsplit("\n", 1)[-1], block_end=stop_at_block_end,
                               max_lines=max_lines, stop_strings=tuple(stop)))
    _check_memory(model, len(prompts) * n, max(map(len, prompts)) + max_new_tokens)
    if any(cut):
        warnings.warn(f"{sum(1 for c in cut if c)} prompt(s) cut by up to {max(cut)} tokens to "
                      f"leave {max_new_tokens} new tokens in the {model.context_length}-token "
                      "context", stacklevel=3)
    generations = model.engine.generate(
        prompts, max_new_tokens, sampling, num_samples=n, detokenizers=detokenizers,
        stop_rules=rules, should_cancel=should_cancel, lookup=_lookup_for(model),
        first_tokens=first_tokens)
    results = []
    for index, (prefix, suffix) in enumerate(zip(prefixes, suffixes)):
        row = []
        for g in generations[index * n:(index + 1) * n]:
            completion = Completion(g.text, None, len(g.tokens), g.logprob, g.finish_reason,
                                    raw_text=g.text, prompt_tokens_cut=cut[index],
                                    stop_rule=g.stop_rule)
            if validate:
                check = validate_completion(prefix, completion, suffix)
                completion.text, completion.valid, completion.problems = (
                    check.text, check.valid, check.problems)
            row.append(completion)
        results.append(row)
    return results


def _check_text(what: str, text: object) -> None:
    """Prompts are text that UTF-8 can encode: a lone surrogate (from a bad decode upstream,
    or `surrogateescape`) would otherwise fail deep inside the tokenizer."""
    if not isinstance(text, str):
        raise ConfigError(f"{what} must be a string, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ConfigError(f"{what} is not valid Unicode: a lone surrogate {text[e.start]!r} at "
                          f"character {e.start}") from None


def _check_memory(model: CodeModel, rows: int, length: int) -> None:
    """Refuse a request whose key/value cache and logits cannot fit in the memory that is
    free now, before any of it is allocated: `n=200000` would otherwise allocate until the
    machine gives out."""
    c = model.config
    element = 2 if model.device.type == "cuda" else 4  # bf16 or fp16 on GPUs, fp32 on CPUs
    cache = rows * c.num_hidden_layers * 2 * c.num_key_value_heads * c.head_dim * length * element
    logits = rows * c.vocab_size * 4 * 4  # fp32 logits and the copies sampling makes of them
    available = available_memory(model.device)
    if available is not None and cache + logits > available:
        raise ConfigError(
            f"{rows} sequences of up to {length} tokens need about {(cache + logits) / 2**30:.1f} GiB "
            f"for their key/value cache and logits, more than the {available / 2**30:.1f} GiB "
            f"available on {model.device}: ask for fewer completions (n), prompts or max_new_tokens")


def _lookup_for(model: CodeModel) -> PromptLookup | None:
    """Prompt lookup where it pays: with ONNX Runtime it decoded 1.43x faster on real-file
    line completions, with the torch backend 0.99x (a verify pass there costs more than the
    steps it saves); see benchmarks/results/generation_pycodesmall-tiny.json. Not on the int8
    export: it quantizes activations over all the tokens of a call, so a verify pass can
    choose other tokens than single steps would."""
    return PromptLookup() if model.backend.name == "onnx" else None


@dataclass(frozen=True)
class PromptIds:
    """A request as the model sees it. ids: the prompt (in fill-in-the-middle order when
    there is a suffix); state and healed: what `decode_continuation` needs for the
    completion; first_tokens: the ids the first new token may be (token healing), or None;
    tokens_cut: prompt tokens left out to fit the budget."""

    ids: list[int]
    state: object
    healed: str
    first_tokens: list[int] | None
    tokens_cut: int


def encode_request(tok: PythonTokenizer, prefix: str, suffix: str, budget: int) -> PromptIds:
    """The one encoding of (prefix, suffix) for generation, at most `budget` tokens.

    Without a suffix the prompt is the prefix, healed when it ends mid-token (see
    `PythonTokenizer.heal`). With one it is fill-in-the-middle in SPM order,
    `<fim_prefix> <fim_suffix> suffix <fim_middle> prefix`, so the middle continues the
    prefix directly, encoded as training cuts a document (`PythonTokenizer.encode_infill`);
    no healing, as the cursor is mid-prompt. The models train on both orders; SPM is the
    one they infill with (benchmarks/fim_order.py: on held-out spans the bundled model
    needs 0.12 fewer bits per byte for the middle in SPM than in PSM, and PSM does no
    better than ignoring the suffix). Too long a prompt loses its oldest tokens (with a
    suffix, the end of the suffix first when the suffix takes more than a third).
    """
    if not suffix:
        ids, state = tok.encode_prompt(prefix)
        healed, allowed = "", None
        healing = tok.heal(ids)
        if healing is not None:
            ids, healed, allowed = healing
        cut = max(0, len(ids) - budget)
        return PromptIds(ids[cut:], state, healed, allowed, cut)
    prefix_ids, suffix_ids, state = tok.encode_infill(prefix, suffix)
    room = budget - 3  # the three fill-in-the-middle tokens
    total = len(prefix_ids) + len(suffix_ids)
    if total > room:
        suffix_ids = suffix_ids[: max(room // 3, room - len(prefix_ids))]
        prefix_ids = prefix_ids[len(prefix_ids) - (room - len(suffix_ids)):]
    ids = [tok.fim_prefix_id, tok.fim_suffix_id, *suffix_ids, tok.fim_middle_id, *prefix_ids]
    return PromptIds(ids, state, "", None, max(0, total - room))
