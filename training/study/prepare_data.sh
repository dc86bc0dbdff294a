#!/usr/bin/env bash
# Rebuilds the study's inputs on a fresh machine (data/ is never committed): the corpus, then
# every tokenizer the plans name with its shards. Each step is skipped when its output exists,
# so a stopped preparation resumes, and with tokenizer names as arguments only those are made
# (for example `bash training/study/prepare_data.sh indent-4096 bpe-4096 ast-4096`).
#
# Times on this 2-core CPU: corpus ~25 min (mostly fetching the pinned sdists), then ~2 min to
# train and ~5 min to pack each tokenizer.
set -euo pipefail
cd "$(dirname "$0")/../.."

all=(indent-4096 bpe-4096 ast-4096 indent-8192 bpe-8192 bpe-16384 indent-16384)
wanted=("${@:-${all[@]}}")

if [[ ! -f data/corpus/build_report.json ]]; then
    pycodesmall-train data build --config training/configs/corpus.toml --output-dir data/corpus
fi

for name in "${wanted[@]}"; do
    variant=${name%-*}
    vocab=${name##*-}
    # indent at 8192 is the release's tokenizer: data/tok and data/shards (README).
    if [[ $name == indent-8192 ]]; then tok=data/tok shards=data/shards
    else tok=data/tok-$name shards=data/shards-$name; fi
    if [[ ! -f $tok/tokenizer.json ]]; then
        pycodesmall-train tokenizer --corpus data/corpus --variant "$variant" --vocab-size "$vocab" --out "$tok"
    fi
    if [[ ! -f $shards/shards.json ]]; then
        pycodesmall-train data pack --corpus data/corpus --tokenizer "$tok/tokenizer.json" --out "$shards"
    fi
done
