"""Fill-in-the-middle in PSM order against SPM order, for the bundled model (issue #12, item 3).

    python benchmarks/fim_order.py                      # 120 files x 4 spans, 1.5 minutes on one thread
    python benchmarks/fim_order.py --files 40 --spans-per-file 2 --out /tmp/fim_order.json

pycodesmall-tiny was trained with fill-in-the-middle on half of its documents, half of
those in SPM order (`training/configs/tiny.toml`, `training/objectives.py`), but inference
sends PSM only (`pycodesmall.api.encode_request`). This measures how well the model infills
in each order, on the same spans of held-out files (a seeded sample of the corpus's test
split), so that the issue can decide between using SPM where it is better and no longer
training it.

Spans. Each file's ids (`tokenizer.encode`) are cut at token boundaries, as training cuts
a document, in two kinds, half of the spans each:
- `line`: the middle is 1-3 whole lines (its ends are token positions that start a line:
  after a token whose text ends with a newline), at most 96 tokens;
- `random`: the two ends drawn uniformly, as training draws them, kept when the middle
  has 1-64 tokens.
At most 200 tokens of prefix before the middle and 200 of suffix after it are kept (the
document as a 512-token training window holds it); the sequence is
`FillInTheMiddle.rearrange` of that piece in each order, with the end-of-document id after
the middle, as training puts it there. The sequence starts with `<fim_prefix>` and no
end-of-document id before it, as inference sends it. Both orders end with the middle and
the end-of-document id, so the model predicts the same tokens from the same tokens, in a
different order.

Measures, per order, over the middle tokens of a set of spans:
- bits per byte: the bits of the middle tokens given everything before them, over the
  UTF-8 bytes of the middle's source text, summed over the spans (byte-weighted). The
  source offset of a cut is the length of the longest common beginning of the file and
  `tokenizer.decode` of the ids before the cut (a cut inside a character's bytes counts
  the character to the side it ends on; a cut after indentation markers gives their
  indentation to the side that holds them);
- accuracy: the fraction of middle tokens that are the model's top-1 choice;
- end of document: the mean natural-log probability of the end-of-document id right after
  the middle, and how often it is the top-1 choice (does the model know where to stop).
The difference SPM - PSM of each has a 95% interval from a paired bootstrap that
resamples files (a file's spans go together: they share text), 2000 resamples. As a
reference, `left_to_right` scores the same middle tokens given the kept prefix alone, in
file order (plain next-token prediction): what either order gains from seeing the suffix.

Inference sends the same ids only where the middle leaves the indentation state as it was
(the `indent` tokenizer encodes an editor's suffix after the prefix's block stack, as
`PythonTokenizer.encode_infill` says; training cut the whole document, whose suffix
continues from where the middle ends). Each span records whether `encode_infill` of the
texts at its cuts gives the ids scored here (null where a cut is no text cursor), and the
summary has that subset too. Start-up self-checks: the log-probabilities computed here
equal `CodeModel.score_window`'s, and for the first two line spans whose middle keeps the
block stack, the PSM sequence equals `<fim_prefix> P <fim_suffix> S <fim_middle> middle
<eot>` with P, S from `encode_infill` of the texts decoded at the cuts.

Writes benchmarks/results/fim_order.json (see `--out`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

import pycodesmall
from pycodesmall.bits_per_byte import BitsPerByte
from pycodesmall.training.evaluation.benchmark_data import load_corpus_files
from pycodesmall.training.objectives import FillInTheMiddle
from pycodesmall.training.provenance import provenance

ROOT = Path(__file__).resolve().parents[1]
MODEL = "pycodesmall-tiny"
KINDS = ("line", "random")
SIDE_TOKENS = 200  # prefix kept before the middle, suffix kept after it
MAX_MIDDLE = {"line": 96, "random": 64}
MIN_FILE_TOKENS = 8
BOOTSTRAP = 2000
ORDERS = ("psm", "spm")
REFERENCE = "left_to_right"  # the middle given the prefix alone, as plain next-token training sees it
SCORED = (*ORDERS, REFERENCE)


@dataclass
class Span:
    file: int  # index in the sample
    kind: str
    lo: int  # middle = ids[lo:hi]
    hi: int
    start: int  # kept piece = ids[start:end]
    end: int
    middle_bytes: int = 0
    suffix_to_end_of_file: bool = False
    inference_equal: bool | None = None
    bits: dict | None = None  # order -> bits of the middle tokens
    correct: dict | None = None  # order -> middle tokens predicted top-1
    eot_logprob: dict | None = None
    eot_top1: dict | None = None


# ----------------------------------------------------------------------------- spans

def line_start_ids(tokenizer) -> np.ndarray:
    """True for the ids whose text ends with a newline: the position after one starts a line."""
    return np.array([tokenizer.decode([i]).endswith("\n") for i in range(tokenizer.vocab_size)])


def sample_spans(ids: list[int], ends_line: np.ndarray, file: int, counts: dict[str, int],
                 rng: np.random.Generator) -> list[Span]:
    n = len(ids)
    starts = [0] + [k for k in range(1, n + 1) if ends_line[ids[k - 1]]]
    spans, seen = [], set()
    for kind, count in counts.items():
        for _ in range(200 * count):  # tries; a file may have fewer spans than asked
            if sum(s.kind == kind for s in spans) == count:
                break
            if kind == "line":
                if len(starts) < 2:
                    break
                i = int(rng.integers(0, len(starts) - 1))
                lo, hi = starts[i], starts[min(i + int(rng.integers(1, 4)), len(starts) - 1)]
            else:
                lo, hi = (int(x) for x in np.sort(rng.integers(0, n + 1, size=2)))
            if not 1 <= hi - lo <= MAX_MIDDLE[kind] or (lo, hi) in seen:
                continue
            seen.add((lo, hi))
            spans.append(Span(file, kind, lo, hi, max(0, lo - SIDE_TOKENS), min(n, hi + SIDE_TOKENS)))
    return spans


def source_offset(tokenizer, text: str, ids: list[int], cut: int) -> tuple[int, bool]:
    """(offset in `text` of the cut before ids[cut], whether the ids before it decode to
    exactly text[:offset]: whether the cut is a cursor in the text at all)."""
    decoded = tokenizer.decode(ids[:cut])
    offset = len(os.path.commonprefix([decoded, text[:len(decoded)]]))
    return offset, offset == len(decoded)


def sequences(fim: FillInTheMiddle, ids: list[int], span: Span, eot: int) -> dict[str, list[int]]:
    """Both orders of the kept piece, the end-of-document id after the middle; and the
    reference, the kept prefix and the middle in file order (after an end-of-document id
    at the file's start, as training puts one there) and the token after the middle."""
    piece = np.array(ids[span.start:span.end], dtype=np.int64)
    lo, hi = span.lo - span.start, span.hi - span.start
    out = {order: [*fim.rearrange(piece, lo, hi, spm=order == "spm").tolist(), eot] for order in ORDERS}
    out[REFERENCE] = [*([eot] if span.start == 0 else []), *ids[span.start:span.hi],
                      ids[span.hi] if span.hi < len(ids) else eot]
    return out


def inference_psm(tokenizer, text: str, ids: list[int], span: Span, lo_offset: int,
                  hi_offset: int) -> list[int]:
    """The PSM sequence with the ids inference gives the texts at the span's cuts (cut to the
    same piece), the middle and the end-of-document id after it."""
    prefix, suffix, _ = tokenizer.encode_infill(text[:lo_offset], text[hi_offset:])
    kept_prefix = prefix[len(prefix) - (span.lo - span.start):]
    return [tokenizer.fim_prefix_id, *kept_prefix, tokenizer.fim_suffix_id,
            *suffix[:span.end - span.hi], tokenizer.fim_middle_id, *ids[span.lo:span.hi],
            tokenizer.eot_id]


def keeps_block_stack(tokenizer, prefix: str, middle: str) -> bool:
    """Whether the encoder stands where it stood after the prefix once the middle is added."""
    return tokenizer.encode_prompt(prefix)[1] == tokenizer.encode_prompt(prefix + middle)[1]


# ----------------------------------------------------------------------------- scoring

@torch.inference_mode()
def score(model, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Natural-log probabilities of ids[1:] (as `score_window`) and whether each is the
    top-1 choice."""
    window = torch.tensor([ids], dtype=torch.long, device=model.device)
    logprobs = torch.log_softmax(model.module(window)[0, :-1].float(), dim=-1)  # (T-1, V)
    target = window[0, 1:]
    return (logprobs.gather(-1, target[:, None])[:, 0].cpu().numpy(),
            (logprobs.argmax(-1) == target).cpu().numpy())


def score_span(model, span: Span, orders: dict[str, list[int]]) -> None:
    width = span.hi - span.lo
    span.bits, span.correct, span.eot_logprob, span.eot_top1 = {}, {}, {}, {}
    for order, ids in orders.items():
        logprobs, top1 = score(model, ids)
        # Every sequence ends with the middle and one token after it; logprobs[t - 1] scores ids[t].
        middle = slice(len(ids) - 2 - width, len(ids) - 2)
        span.bits[order] = float(-logprobs[middle].sum() / math.log(2))
        span.correct[order] = int(top1[middle].sum())
        if order in ORDERS:
            span.eot_logprob[order] = float(logprobs[-1])
            span.eot_top1[order] = bool(top1[-1])


# ----------------------------------------------------------------------------- summary

def _per_file(spans: list[Span]) -> tuple[np.ndarray, list[str]]:
    """Per file, the sums the measures are ratios of: (files, columns) and column names."""
    columns = [(q, o) for q in ("bits", "correct") for o in SCORED]
    columns += [(q, o) for q in ("eot_logprob", "eot_top1") for o in ORDERS]
    names = ["spans", "tokens", "bytes"] + [f"{q}_{o}" for q, o in columns]
    files = sorted({s.file for s in spans})
    rows = {f: np.zeros(len(names)) for f in files}
    for s in spans:
        rows[s.file] += [1, s.hi - s.lo, s.middle_bytes, *(getattr(s, q)[o] for q, o in columns)]
    return np.array([rows[f] for f in files]), names


def _measures(sums: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """Measures per order from column sums (the last axis)."""
    col = {n: sums[..., i] for i, n in enumerate(names)}
    out = {}
    for o in SCORED:
        out[f"bits_per_byte_{o}"] = col[f"bits_{o}"] / col["bytes"]
        out[f"accuracy_{o}"] = col[f"correct_{o}"] / col["tokens"]
    for o in ORDERS:
        out[f"eot_logprob_{o}"] = col[f"eot_logprob_{o}"] / col["spans"]
        out[f"eot_top1_{o}"] = col[f"eot_top1_{o}"] / col["spans"]
    return out


def _difference(point: dict, resampled: dict, measure: str, a: str, b: str) -> dict:
    """a - b of a measure, with its 95% bootstrap interval."""
    low, high = np.percentile(resampled[f"{measure}_{a}"] - resampled[f"{measure}_{b}"], [2.5, 97.5])
    return {"difference": round(float(point[f"{measure}_{a}"] - point[f"{measure}_{b}"]), 4),
            "ci95": [round(float(low), 4), round(float(high), 4)], "excludes_zero": bool(low > 0 or high < 0)}


def summarize(spans: list[Span], rng: np.random.Generator) -> dict:
    table, names = _per_file(spans)
    totals = table.sum(axis=0)
    point = _measures(totals, names)
    picks = rng.integers(0, len(table), size=(BOOTSTRAP, len(table)))
    weights = np.zeros((BOOTSTRAP, len(table)))
    np.add.at(weights, (np.arange(BOOTSTRAP)[:, None], picks), 1)
    resampled = _measures(weights @ table, names)
    result = {"spans": len(spans), "files": len(table), "middle_tokens": int(totals[1]),
              "middle_bytes": int(totals[2])}
    for o in SCORED:
        total = BitsPerByte(float(totals[names.index(f"bits_{o}")]), int(totals[2]), int(totals[1]), len(spans))
        result[o] = {"bits_per_byte": round(total.value, 4), "accuracy": round(float(point[f"accuracy_{o}"]), 4)}
        if o in ORDERS:
            result[o] |= {"eot_logprob": round(float(point[f"eot_logprob_{o}"]), 4),
                          "eot_top1": round(float(point[f"eot_top1_{o}"]), 4)}
    result["spm_minus_psm"] = {m: _difference(point, resampled, m, "spm", "psm")
                               for m in ("bits_per_byte", "accuracy", "eot_logprob", "eot_top1")}
    result["spm_fewer_bits_fraction"] = round(float(np.mean([s.bits["spm"] < s.bits["psm"] for s in spans])), 4)
    result[f"minus_{REFERENCE}"] = {o: {m: _difference(point, resampled, m, o, REFERENCE)
                                        for m in ("bits_per_byte", "accuracy")} for o in ORDERS}
    return result


# ----------------------------------------------------------------------------- run

def self_check(model, fim: FillInTheMiddle, files, prepared) -> dict:
    """The asserts of the module docstring, before anything is measured."""
    tok = model.tokenizer
    first = prepared[0]
    ids = sequences(fim, files[first[0].file][1], first[0], tok.eot_id)["psm"]
    assert np.allclose(score(model, ids)[0], model.score_window(ids), atol=1e-4), "score != score_window"
    compared = []
    for spans in prepared:
        for span in spans:
            if span.kind != "line" or len(compared) == 2:
                continue
            text, ids = files[span.file]
            (lo, lo_clean), (hi, hi_clean) = (source_offset(tok, text, ids, c) for c in (span.lo, span.hi))
            assert lo_clean and hi_clean, "a line start is always a text cursor"
            if not keeps_block_stack(tok, text[:lo], text[lo:hi]):
                continue
            built = sequences(fim, ids, span, tok.eot_id)["psm"]
            assert built == inference_psm(tok, text, ids, span, lo, hi), (text[max(0, lo - 40):lo], text[lo:hi])
            compared.append({"file": span.file, "lo": span.lo, "hi": span.hi, "middle": text[lo:hi]})
    assert len(compared) == 2, "no two line spans that keep the block stack"
    return {"score_equals_score_window": True, "psm_equals_encode_infill": compared}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus" / "test.jsonl.gz")
    parser.add_argument("--files", type=int, default=120)
    parser.add_argument("--spans-per-file", type=int, default=4, help="half line, half random")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fim_order.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    model = pycodesmall.load(MODEL, device="cpu")
    tok = model.tokenizer
    fim = FillInTheMiddle(1.0, 0.5, tok.eot_id, tok.fim_prefix_id, tok.fim_middle_id, tok.fim_suffix_id)
    counts = {"line": (args.spans_per_file + 1) // 2, "random": args.spans_per_file // 2}
    config = {"model": f"{MODEL} (bundled)", "corpus": args.corpus.name, "files": args.files,
              "spans_per_file": counts, "seed": args.seed, "side_tokens": SIDE_TOKENS,
              "max_middle_tokens": MAX_MIDDLE, "bootstrap": BOOTSTRAP, "bootstrap_unit": "file",
              "threads": 1}
    record = provenance(config)
    ends_line = line_start_ids(tok)
    sample = list(load_corpus_files(args.corpus, None, args.files, args.seed))
    files = [(f.text, tok.encode(f.text)) for f in sample]
    prepared = [sample_spans(ids, ends_line, i, counts, np.random.default_rng([args.seed, i]))
                if len(ids) >= MIN_FILE_TOKENS else [] for i, (_, ids) in enumerate(files)]
    prepared = [spans for spans in prepared if spans]
    checks = self_check(model, fim, files, prepared)
    spans = [span for file_spans in prepared for span in file_spans]
    for span in spans:
        text, ids = files[span.file]
        (lo, lo_clean), (hi, hi_clean) = (source_offset(tok, text, ids, c) for c in (span.lo, span.hi))
        span.middle_bytes = len(text[lo:hi].encode("utf-8"))
        span.suffix_to_end_of_file = span.end == len(ids)
        orders = sequences(fim, ids, span, tok.eot_id)
        assert len(orders["psm"]) <= model.context_length
        if lo_clean and hi_clean:
            span.inference_equal = orders["psm"] == inference_psm(tok, text, ids, span, lo, hi)
        score_span(model, span, orders)
    rng = np.random.default_rng(args.seed)
    groups = {"all": spans, **{k: [s for s in spans if s.kind == k] for k in KINDS},
              "inference_equal": [s for s in spans if s.inference_equal],
              "suffix_to_end_of_file": [s for s in spans if s.suffix_to_end_of_file]}
    result = {
        **record,
        "files": {"sampled": len(sample), "with_spans": len(prepared)},
        "inference_equal": {"true": sum(s.inference_equal is True for s in spans),
                            "false": sum(s.inference_equal is False for s in spans),
                            "no_text_cursor": sum(s.inference_equal is None for s in spans)},
        "summary": {name: summarize(group, rng) for name, group in groups.items() if group},
        "self_check": checks,
        "per_span": [{**asdict(s), "path": sample[s.file].path} for s in spans],
    }
    result["wall_time_s"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    line = [f"left-to-right {result['summary']['all'][REFERENCE]['bits_per_byte']:.3f}"]
    for name in ("all", *KINDS):
        s = result["summary"][name]
        d = s["spm_minus_psm"]["bits_per_byte"]
        line.append(f"{name}: bpb PSM {s['psm']['bits_per_byte']:.3f} SPM {s['spm']['bits_per_byte']:.3f} "
                    f"(SPM-PSM {d['difference']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}])")
    print("; ".join(line), f"({len(spans)} spans, {result['wall_time_s']}s) ->", args.out)


if __name__ == "__main__":
    sys.exit(main())
