"""A Hugging Face `datasets` dataset streamed record by record (e.g. a Python subset of The Stack).

For users with internet; nothing is downloaded beyond the records read. Each record is
one file, and its repository is the package, so a repository never spans two splits.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from pycodesmall.errors import MissingExtraError
from pycodesmall.training.corpus.config import HuggingFaceSource
from pycodesmall.training.corpus.sources import SourceFile


class HuggingFaceDataset:
    def __init__(self, config: HuggingFaceSource):
        self.config = config
        self.read = 0

    def provenance(self) -> list[dict]:
        c = self.config
        return [{"source": "huggingface", "name": c.dataset, "data_dir": c.data_dir,
                 "split": c.split, "records_read": self.read}]

    def files(self) -> Iterator[SourceFile]:
        try:
            import datasets
        except ImportError:
            raise MissingExtraError("datasets", "train",
                                    "Streaming a Hugging Face dataset") from None
        c = self.config
        records = datasets.load_dataset(c.dataset, data_dir=c.data_dir or None, split=c.split,
                                        streaming=True)
        for record in itertools.islice(records, c.max_files):
            self.read += 1
            licence = record.get(c.licence_field) or ""
            if isinstance(licence, list):  # The Stack lists every licence detected in the repo
                licence = " AND ".join(licence)
            yield SourceFile("huggingface", str(record.get(c.package_field) or c.dataset),
                             str(record.get(c.path_field) or f"record-{self.read}"),
                             record[c.text_field].encode("utf-8"), licence)
