"""Recent suggestions, so typing through a shown suggestion is answered without a decode.

If the user types the first characters of a suggestion, the text before the cursor grows by
exactly those characters and the text after it stays the same: the rest of the suggestion
is still the answer, and it is still valid, since the whole file is unchanged. Prefixes are
stored as a length and a hash, not copied, so huge files cost no memory here.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["SuggestionCache"]


@dataclass(frozen=True)
class _Entry:
    prefix_length: int
    prefix_hash: int
    texts: tuple[str, ...]


class SuggestionCache:
    def __init__(self, size: int = 64, max_typed: int = 200):
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._size = size
        self._max_typed = max_typed

    def put(self, scope: object, prefix: str, suffix: str, texts: list[str]) -> None:
        """Remember `texts` as the suggestions at the end of `prefix`, before `suffix`.

        `scope` separates what must not be mixed: documents, models, settings.
        """
        key = (scope, hash(prefix), len(prefix), hash(suffix))
        self._entries[key] = _Entry(len(prefix), hash(prefix), tuple(texts))
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def get(self, scope: object, prefix: str, suffix: str) -> list[str] | None:
        """The rest of remembered suggestions that the text typed since agrees with, if any."""
        suffix_hash = hash(suffix)
        for (entry_scope, _, _, entry_suffix_hash), entry in reversed(self._entries.items()):
            if entry_scope != scope or entry_suffix_hash != suffix_hash:
                continue
            typed_length = len(prefix) - entry.prefix_length
            if not 0 <= typed_length <= self._max_typed:
                continue
            if hash(prefix[: entry.prefix_length]) != entry.prefix_hash:
                continue
            typed = prefix[entry.prefix_length:]
            rest = [t[typed_length:] for t in entry.texts if t.startswith(typed) and t[typed_length:].strip()]
            if rest:
                return rest
        return None

    def clear(self) -> None:
        self._entries.clear()
