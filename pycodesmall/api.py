"""The public functions: `load`, `complete`, `complete_batch`."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pycodesmall import hub
from pycodesmall.errors import ConfigError
from pycodesmall.pretrained import CodeModel
from pycodesmall.runtime import SamplingParams, StopRules
from pycodesmall.runtime.speculative import PromptLookup
from pycodesmall.validate import Problem, validate as validate_completion

__all__ = ["load", "complete", "complete_batch", "Completion", "DEFAULT_REPETITION_PENALTY"]

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
    raw_text: the text before validation cut it.
    """

    text: str
    valid: bool | None
    tokens: int
    logprob: float
    finish_reason: str
    problems: list[Problem] = field(default_factory=list)
    raw_text: str = ""


def load(name: str | None = None, revision: str | None = None, device: str = "auto",
         backend: str = "auto") -> CodeModel:
    """Load a model by released name, local directory or Hub repo id ('org/name').

    Without a name, the default released model, which is bundled with the package.
    """
    name = name or hub.DEFAULT_MODEL
    directory = hub.resolve(name, revision)
    return CodeModel.from_directory(directory, name=str(name), device=device, backend=backend)


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
    longest part that is valid Python in context (see `pycodesmall.validate`).
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
    model = _model_for(model)
    suffixes = list(suffixes) if suffixes is not None else [""] * len(prefixes)
    if len(suffixes) != len(prefixes):
        raise ConfigError("give one suffix per prefix")
    if max_new_tokens < 1 or n < 1:
        raise ConfigError("max_new_tokens and n must be at least 1")
    if max_new_tokens >= model.context_length:
        raise ConfigError(f"max_new_tokens {max_new_tokens} leaves no room for the prompt in "
                          f"this model's {model.context_length}-token context")
    sampling = SamplingParams(temperature, top_k, top_p, seed, repetition_penalty)
    tok = model.tokenizer
    prompts, detokenizers, rules, first_tokens = [], [], [], []
    for prefix, suffix in zip(prefixes, suffixes):
        if not prefix.strip() and not suffix.strip():
            raise ConfigError("empty prompt: give some code to complete")
        ids, state = tok.encode_prompt(prefix)
        healing = None if suffix else tok.heal(ids)  # a suffix puts the cursor mid-prompt
        healed, allowed = "", None
        if healing is not None:
            ids, healed, allowed = healing
        first_tokens.append(allowed)
        prompts.append(_fit_context(model, ids, tok.encode(suffix) if suffix else None,
                                    model.context_length - max_new_tokens))
        detokenizers.append(lambda generated, state=state, healed=healed:
                            tok.decode_continuation(generated, state, healed))
        rules.append(StopRules(line_prefix=prefix.rsplit("\n", 1)[-1], block_end=stop_at_block_end,
                               max_lines=max_lines, stop_strings=tuple(stop)))
    generations = model.engine.generate(
        prompts, max_new_tokens, sampling, num_samples=n, detokenizers=detokenizers,
        stop_rules=rules, should_cancel=should_cancel, lookup=_lookup_for(model),
        first_tokens=first_tokens)
    results = []
    for index, (prefix, suffix) in enumerate(zip(prefixes, suffixes)):
        row = []
        for g in generations[index * n:(index + 1) * n]:
            completion = Completion(g.text, None, len(g.tokens), g.logprob, g.finish_reason,
                                    raw_text=g.text)
            if validate:
                check = validate_completion(prefix, g.text, suffix)
                completion.text, completion.valid, completion.problems = (
                    check.text, check.valid, check.problems)
            row.append(completion)
        results.append(row)
    return results


def _lookup_for(model: CodeModel) -> PromptLookup | None:
    """Prompt lookup where it pays: with ONNX Runtime it decoded 1.43x faster on real-file
    line completions, with the torch backend 0.99x (a verify pass there costs more than the
    steps it saves); see benchmarks/results/generation_pycodesmall-tiny.json. Not on the int8
    export: it quantizes activations over all the tokens of a call, so a verify pass can
    choose other tokens than single steps would."""
    return PromptLookup() if model.backend.name == "onnx" else None


def _fit_context(model: CodeModel, prefix_ids: list[int], suffix_ids: list[int] | None,
                 budget: int) -> list[int]:
    """The prompt ids, as fill-in-the-middle when there is a suffix, cut to `budget` tokens.

    Too long a prompt loses its oldest tokens (and, with a suffix, the end of the suffix
    first when the suffix takes more than a third), with a warning.
    """
    tok = model.tokenizer
    if suffix_ids is None:
        if len(prefix_ids) > budget:
            warnings.warn(f"prompt of {len(prefix_ids)} tokens cut from the left to {budget} "
                          "to fit the context", stacklevel=4)
            prefix_ids = prefix_ids[-budget:]
        return prefix_ids
    room = budget - 3  # the three fill-in-the-middle tokens
    if len(prefix_ids) + len(suffix_ids) > room:
        warnings.warn(f"prompt of {len(prefix_ids) + len(suffix_ids)} tokens cut to {room} "
                      "to fit the context", stacklevel=4)
        suffix_ids = suffix_ids[: max(room // 3, room - len(prefix_ids))]
        prefix_ids = prefix_ids[len(prefix_ids) - (room - len(suffix_ids)):]
    return [tok.fim_prefix_id, *prefix_ids, tok.fim_suffix_id, *suffix_ids, tok.fim_middle_id]
