"""The whole generation path, replayed: prompts, budgets, decoding, stop rules, sandbox.

A fake backend answers each prompt with the token ids of its reference solution, as the
model would have to produce them after that prompt, then end-of-document. Everything else
is real: the bundled tokenizer, `generate_samples`, `complete_batch`, the engine and its
stop rules, and the sandbox. pass@1 = 1 means the prompt format and decoding keep every
reference intact; a lost prompt line, a stop string that fires inside a solution or a
decoder that shifts indentation would each fail problems here.
"""

from __future__ import annotations

import functools

import pytest
import torch

import pycodesmall
from pycodesmall.api import encode_request
from pycodesmall.model import Transformer
from pycodesmall.pretrained import CodeModel
from pycodesmall.runtime import Engine
from pycodesmall.training.evaluation.config import EvalConfig
from pycodesmall.training.evaluation.generation import generate_samples
from pycodesmall.training.evaluation.tasks import humaneval, mbpp
from pycodesmall.training.evaluation.tasks.humaneval import humaneval_problems
from pycodesmall.training.evaluation.tasks.mbpp import mbpp_problems


class ReplayBackend:
    """Logits that make greedy decoding emit a fixed continuation of each known prompt."""

    name = "replay"

    def __init__(self, config, continuations: dict[tuple[int, ...], list[int]]):
        self.config = config
        self.continuations = continuations

    def _logits(self, rows: list[list[int]], positions: list[int]) -> torch.Tensor:
        logits = torch.zeros(len(rows), self.config.vocab_size)
        for row, (script, position) in enumerate(zip(rows, positions)):
            logits[row, script[min(position, len(script) - 1)]] = 100.0
        return logits

    def prefill(self, tokens, pad_lengths, num_samples, max_new_tokens, prefix=None):
        rows = [self.continuations[tuple(tokens[b, int(pad_lengths[b]):].tolist())]
                for b in range(tokens.shape[0]) for _ in range(num_samples)]
        cache = {"rows": rows, "positions": [0] * len(rows)}
        return self._logits(rows, cache["positions"]), cache

    def step(self, tokens, cache):
        cache["positions"] = [p + 1 for p in cache["positions"]]
        return self._logits(cache["rows"], cache["positions"]), cache


def replaying_model(problems, context: int) -> CodeModel:
    """The bundled tokenizer in a model whose backend replays each problem's reference."""
    bundled = pycodesmall.load(device="cpu", backend="torch")
    tok = bundled.tokenizer
    config = bundled.config.__class__(**{**bundled.config.__dict__, "hidden_size": 32,
                                         "intermediate_size": 64, "num_hidden_layers": 1,
                                         "num_attention_heads": 2, "num_key_value_heads": 1,
                                         "max_position_embeddings": context})
    model = CodeModel(Transformer(config), tok, "replay", device="cpu", backend="torch")
    continuations = {}
    for problem in problems:
        request = encode_request(tok, problem.request.prompt, "", 10**9)
        assert request.first_tokens is None  # prompts end lines: no token healing to replay
        _, completion, _ = tok.encode_infill(problem.request.prompt, problem.reference)
        assert tok.decode_continuation(completion, request.state) == problem.reference
        continuations[tuple(request.ids)] = [*completion, tok.eot_id]
    model.engine = Engine(ReplayBackend(config, continuations), tok.eot_id, tok.pad_id)
    return model


@pytest.mark.slow
@pytest.mark.parametrize("task", ["humaneval", "mbpp"])
def test_replayed_references_pass_through_the_real_generation_path(task, data_dir):
    problems = (humaneval_problems(data_dir) if task == "humaneval"
                else mbpp_problems("sanitized", 0, data_dir))
    model = replaying_model(problems, context=4096)  # room for the longest reference
    config = EvalConfig(data_dir=data_dir, max_new_tokens=1024)
    evaluate = humaneval.evaluate if task == "humaneval" else mbpp.evaluate
    result = evaluate(config, functools.partial(generate_samples, model))
    failed = [(s["task_id"], s["category"], s["finish_reason"]) for s in result.samples
              if s["category"] != "passed"]
    assert failed == [] and result.summary["pass@1"] == 1.0
    assert result.summary["generation"]["prompts_cut"] == 0
    assert result.summary["generation"]["finish_reasons"] == {"eos": 1.0}


def test_no_benchmark_prompt_is_cut_for_the_released_model_under_the_default_config(data_dir):
    """Every HumanEval and MBPP prompt fits the bundled model's context with room to answer."""
    model = pycodesmall.load(device="cpu", backend="torch")
    config = EvalConfig(data_dir=data_dir)
    problems = humaneval_problems(data_dir) + mbpp_problems("sanitized", 0, data_dir)
    room = [model.context_length - len(encode_request(model.tokenizer, p.request.prompt, "", 10**9).ids)
            for p in problems]
    assert min(room) > 0, "a prompt that does not fit would be refused, not cut"
    budgets = [min(config.max_new_tokens, r) for r in room]
    reference_tokens = [len(model.tokenizer.encode(p.reference)) for p in problems]
    fits = sum(b >= t for b, t in zip(budgets, reference_tokens)) / len(problems)
    assert fits > 0.95  # the budget the context leaves holds nearly every reference solution
