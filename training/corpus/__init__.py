"""The corpus builder: `pycodesmall-train data build` and `pycodesmall-train data pack`.

    sources/          stdlib, local folders, PyPI (manifest + pip cache), Hugging Face streaming
    licences.py       permissive-licence check from package metadata
    notebooks.py      .ipynb -> Python (markdown as comments)
    filters.py        UTF-8, size and line length, generated files, ast.parse
    dedup.py          exact (normalised hash) and near (MinHash LSH) duplicates
    decontamination   HumanEval/MBPP long-n-gram matches
    split.py          train/val/test by package hash
    build.py          the streaming pipeline and its build report
    shards.py         token ids in flat memmaps + shards.json; `open_split` for training

The training loop reads shards with `open_split(shards_dir, split)` and the fields of
`shards.json` (`dtype`, `tokenizer_sha256`, `variant`, `splits`).
"""
