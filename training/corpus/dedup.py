"""Exact and near-duplicate detection over a stream of files; the first copy seen is kept.

Exact: a hash of the text with line endings and trailing whitespace normalised, so a
CRLF copy or a re-saved file is still a duplicate. Near: MinHash LSH (`datasketch`) over
the set of word 5-grams, as in the BigCode near-deduplication of The Stack.
"""

from __future__ import annotations

import hashlib
import re
import zlib

from datasketch import MinHash, MinHashLSH

from pycodesmall.training.corpus.config import DedupConfig

__all__ = ["ExactDeduplicator", "NearDeduplicator", "normalise"]

_WORD = re.compile(r"[A-Za-z_0-9]+")


def normalise(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


class ExactDeduplicator:
    def __init__(self) -> None:
        self._seen: set[bytes] = set()

    def is_duplicate(self, text: str) -> bool:
        """True when an equal file was seen before; otherwise remembers this one."""
        digest = hashlib.blake2b(normalise(text).encode("utf-8"), digest_size=16).digest()
        if digest in self._seen:
            return True
        self._seen.add(digest)
        return False


class NearDeduplicator:
    def __init__(self, config: DedupConfig):
        self.config = config
        self._lsh = MinHashLSH(threshold=config.near_threshold, num_perm=config.num_perm)
        # One MinHash holds the permutations; each file's signature reuses them. crc32 is a
        # stable C hash, several times faster per shingle than datasketch's default sha1.
        self._template = MinHash(num_perm=config.num_perm, seed=config.seed, hashfunc=zlib.crc32)
        self._count = 0

    def is_duplicate(self, text: str) -> bool:
        """True when a file similar above the threshold was seen before; otherwise indexes this one.

        Files with fewer words than one shingle have no shingles and are never near duplicates
        (exact deduplication still applies to them).
        """
        signature = self._signature(text)
        if signature is None:
            return False
        if self._lsh.query(signature):
            return True
        self._lsh.insert(self._count, signature, check_duplication=False)
        self._count += 1
        return False

    def _signature(self, text: str) -> MinHash | None:
        words = _WORD.findall(text)
        k = self.config.shingle_size
        shingles = {" ".join(words[i:i + k]).encode() for i in range(len(words) - k + 1)}
        if not shingles:
            return None
        minhash = self._template.copy()
        minhash.update_batch(list(shingles))
        return minhash
