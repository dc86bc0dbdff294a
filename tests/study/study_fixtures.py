"""Synthetic point files for the study report's tests.

Imported as `study_fixtures` by test modules: a unique module name, as `model_fixtures` is.
"""

from __future__ import annotations

import math


def point(n_total: float, budget: str, compute: float, loss: float, *, final: bool, experiment="size_sweep",
          labels=None) -> dict:
    """One point file's content; D = C / (6 N) so that the points of a budget share its compute."""
    n_total = int(n_total)
    embedding = int(n_total ** 0.75)
    tokens = int(compute / (6 * n_total))
    p = {
        "schema_version": 1, "experiment": experiment, "point": f"{budget}-{n_total}", "run": "abc123",
        "labels": labels or {"size": f"s{n_total}", "budget": budget, "compute": compute, "lr": 0.003, "seed": 1337},
        "config": {}, "commit": "0123abc", "hardware": {"gpu": "synthetic"},
        "tokenizer": {"variant": "indent", "vocab_size": 4096},
        "parameters": {"total": n_total, "non_embedding": n_total - embedding, "embedding": embedding},
        "tokens": tokens, "flops": 6.3 * n_total * tokens,
        "flops_per_token": {"matmul": 5.0 * n_total, "attention": 0.3 * n_total, "output_layer": 1.0 * n_total,
                            "total": 6.3 * n_total},
        "precision": "bf16", "wall_time_s": n_total / 1e4, "final": final,
        "eval": {"test_bpb": {"value": loss, "bytes": 10**6, "tokens": 3 * 10**5, "files": 100},
                 "humaneval_reference_bpb": {"value": loss * 1.1, "bytes": 10**4},
                 "mbpp_reference_bpb": {"value": loss * 1.2, "bytes": 10**4}},
    }
    if final:
        # The layout training/study/measure.py writes.
        p["eval"]["sampled"] = {
            "humaneval": {"pass@1": 0.01, "pass@10": 0.03, "syntax_valid": 0.5 + 0.05 * math.log10(n_total),
                          "indentation_error_rate": 0.1, "error_categories": {"syntax": 0.2, "runtime": 0.1}},
            "lines": {"exact_match": 0.2, "edit_similarity": 0.5},
            "syntax": {"syntax_valid": 0.6, "indentation_error_rate": 0.05}}
    return p
