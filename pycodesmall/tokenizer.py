"""`PythonTokenizer`: byte-level BPE from Hugging Face `tokenizers`, with three variants.

    bpe     plain byte-level BPE over the source (the baseline)
    indent  BPE over the indentation transform of `pycodesmall.indentation`
    ast     as `indent`, plus a statement-type marker in front of each statement

The artifact is a standard `tokenizer.json`. The variant is recorded in it by the marker
tokens it holds, so the file alone says how to use it. Special tokens (end of document and
fill-in-the-middle) have fixed ids 0-4 and are only ever inserted by id: source text that
happens to contain `<|endoftext|>` is encoded as ordinary text, which keeps every variant
lossless for any string.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from pycodesmall import indentation
from pycodesmall.errors import ConfigError

__all__ = ["PythonTokenizer", "ContinuationDecoder", "VARIANTS", "SPECIAL_TOKENS"]

VARIANTS = ("bpe", "indent", "ast")
EOT, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, PAD = (
    "<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|pad|>")
SPECIAL_TOKENS = (EOT, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, PAD)

# GPT-4-style split: words with one leading non-letter, numbers of at most three digits,
# punctuation runs, newlines, and whitespace runs that keep the last space for the next word.
_SPLIT_PATTERN = (r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_INDENT_MARKERS = (indentation.INDENT4, indentation.INDENT, indentation.DEDENT, indentation.ESCAPE)
_MARKER_RUN = re.compile("[\ue000-\ue0ff]+")


def _markers_for(variant: str) -> tuple[str, ...]:
    if variant == "bpe":
        return ()
    if variant == "indent":
        return _INDENT_MARKERS
    return indentation.MARKERS


class PythonTokenizer:
    """Encode Python source to ids and back, losslessly. Build with `train` or `from_file`."""

    def __init__(self, tokenizer: Tokenizer):
        self._tokenizer = tokenizer
        self._tokenizer.encode_special_tokens = True
        vocab = tokenizer.get_vocab()
        missing = [t for t in SPECIAL_TOKENS if t not in vocab]
        if missing:
            raise ConfigError(f"tokenizer lacks special tokens {missing}; train it with pycodesmall")
        if indentation.MARKERS[-1] in vocab:
            self.variant = "ast"
        elif indentation.INDENT4 in vocab:
            self.variant = "indent"
        else:
            self.variant = "bpe"
        self.eot_id, self.fim_prefix_id, self.fim_middle_id, self.fim_suffix_id, self.pad_id = (
            vocab[t] for t in SPECIAL_TOKENS)
        self._extensions: dict[str, list[int]] = {}  # piece -> ids that begin with it (`heal`)

    # --- building ------------------------------------------------------------------------

    @classmethod
    def train(cls, sources: Iterable[str], variant: str = "indent", vocab_size: int = 8192,
              show_progress: bool = False) -> "PythonTokenizer":
        """Train a `variant` tokenizer with `vocab_size` ids in all from source texts."""
        if variant not in VARIANTS:
            raise ConfigError(f"unknown tokenizer variant {variant!r}; choose from {', '.join(VARIANTS)}")
        markers = _markers_for(variant)
        base_size = vocab_size - len(markers)
        if base_size < 256 + len(SPECIAL_TOKENS):
            raise ConfigError(f"vocab_size {vocab_size} is too small: byte-level BPE needs at "
                              f"least {256 + len(SPECIAL_TOKENS) + len(markers)} for this variant")
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(_SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=base_size, special_tokens=list(SPECIAL_TOKENS), show_progress=show_progress,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet())

        def pieces() -> Iterator[str]:
            # Markers become added tokens after training; BPE never sees across them.
            for src in sources:
                text = transform(src, variant)
                yield from (_MARKER_RUN.split(text) if markers else (text,))

        tok.train_from_iterator(pieces(), trainer)
        tok.add_tokens([AddedToken(m, normalized=False, special=False, single_word=False)
                        for m in markers])
        return cls(tok)

    @classmethod
    def from_file(cls, path: str | Path) -> "PythonTokenizer":
        path = Path(path)
        if path.is_dir():
            path = path / "tokenizer.json"
        try:
            return cls(Tokenizer.from_file(str(path)))
        except Exception as e:  # tokenizers raises a bare Exception on malformed JSON
            if not path.exists():
                raise ConfigError(f"no tokenizer.json at {path}") from None
            raise ConfigError(f"cannot read tokenizer {path}: {e}") from None

    def save(self, directory: str | Path) -> None:
        """Write tokenizer.json, and tokenizer_config.json for `transformers`."""
        directory = Path(directory)
        self._tokenizer.save(str(directory / "tokenizer.json"))
        config = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "eos_token": EOT,
            "pad_token": PAD,
            "additional_special_tokens": [FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX],
            "clean_up_tokenization_spaces": False,
            "pycodesmall_variant": self.variant,
        }
        (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")

    # --- use -----------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size()

    def encode(self, src: str) -> list[int]:
        """Token ids of `src`; `decode` gives `src` back exactly."""
        return self._tokenizer.encode(transform(src, self.variant), add_special_tokens=False).ids

    def encode_batch(self, sources: list[str]) -> list[list[int]]:
        texts = [transform(s, self.variant) for s in sources]
        return [e.ids for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: Iterable[int]) -> str:
        text = self._tokenizer.decode(list(ids), skip_special_tokens=True)
        return text if self.variant == "bpe" else indentation.decode(text)

    def encode_prompt(self, src: str) -> tuple[list[int], indentation.DecoderState | None]:
        """Ids for a prompt that the model continues, and the state `decode_continuation` needs."""
        if self.variant == "bpe":
            return self.encode(src), None
        markers = indentation.annotate_statements(src) if self.variant == "ast" else None
        text, state = indentation.encode_prompt(src, markers)
        return self._ids(text), state

    def encode_infill(self, prefix: str, suffix: str
                      ) -> tuple[list[int], list[int], indentation.DecoderState | None]:
        """Ids of the text before and after the cursor, and the state `decode_continuation`
        needs for the middle, as the fill-in-the-middle objective sees a document cut there.

        Training cuts the whole document's ids (`training/objectives.py`), so the suffix's
        indentation markers continue the prefix's block stack and its statement markers are
        those of the whole document; the prefix is encoded as `encode_prompt` encodes it.
        """
        if self.variant == "bpe":
            return self.encode(prefix), self.encode(suffix), None
        prefix_markers = suffix_markers = None
        if self.variant == "ast":
            prefix_markers, suffix_markers = _statement_markers_around(prefix, suffix)
        text, state = indentation.encode_prompt(prefix, prefix_markers)
        suffix_text = indentation.encode_continuation(suffix, state, suffix_markers)
        return self._ids(text), self._ids(suffix_text), state

    def _ids(self, encoded: str) -> list[int]:
        """BPE ids of text that has already been through the indentation transform."""
        return self._tokenizer.encode(encoded, add_special_tokens=False).ids

    def decode_continuation(self, ids: Iterable[int], state: indentation.DecoderState | None,
                            healed: str = "") -> str:
        """The text that generated `ids` add after a prompt from `encode_prompt`; `healed`:
        the text of the prompt token that `heal` took back, which the ids begin with."""
        text = self._tokenizer.decode(list(ids), skip_special_tokens=True)
        text = text[len(healed):] if text.startswith(healed) else text
        if self.variant == "bpe":
            return text
        return indentation.decode(text, state.copy())

    def continuation_decoder(self, state: indentation.DecoderState | None,
                             healed: str = "") -> "ContinuationDecoder":
        """`decode_continuation` for ids that arrive one at a time (see `ContinuationDecoder`)."""
        return ContinuationDecoder(self._tokenizer, state, healed, self.variant != "bpe")

    def heal(self, ids: list[int]) -> tuple[list[int], str, list[int]] | None:
        """Token healing: the prompt without its last token, that token's text, and the ids
        whose text begins with it, one of which the model is to choose first.

        A prompt cut mid-token ends in a token the model rarely saw there: training text
        after "def f(n):" had one token for "):" plus the newline, so a model shown "):"
        avoids the newline. Choosing the last token again, among those that extend it,
        removes that bias. None where there is nothing to heal: a one-token prompt, a last
        token that is a marker or a byte of a longer character, or one that ends a line (a
        cursor at the start of a line is no cut; there, healing measured worse line
        completion: 6.5% exact against 7.0%, as it lets the model add blank lines).
        """
        if len(ids) < 2:
            return None
        piece = self._tokenizer.id_to_token(ids[-1])
        text = self._tokenizer.decode([ids[-1]])
        if piece not in self._base_vocab or not text or "\ufffd" in text or text.endswith("\n"):
            return None
        if piece not in self._extensions:  # a scan of the vocabulary, ~1 ms: once per piece
            self._extensions[piece] = [i for p, i in self._base_vocab.items() if p.startswith(piece)]
        return ids[:-1], text, self._extensions[piece]

    @functools.cached_property
    def _base_vocab(self) -> dict[str, int]:
        """Merged byte pieces -> id, without special and marker tokens."""
        return self._tokenizer.get_vocab(with_added_tokens=False)


def _statement_markers_around(prefix: str, suffix: str) -> tuple[dict[int, str], dict[int, str]]:
    """`ast` markers of the prefix's lines and of the suffix's lines (numbered from the
    suffix's first line), taken from the whole document as training takes them; the
    prefix's own when the whole document gets none (it does not parse, even leniently)."""
    whole = indentation.annotate_statements(prefix + suffix)
    if not whole:
        return indentation.annotate_statements(prefix), {}
    cursor_line = prefix.count("\n")  # the suffix's first line
    # A marker goes where its line starts: in the suffix when the cursor is at a line start.
    first_in_suffix = cursor_line if prefix == "" or prefix.endswith("\n") else cursor_line + 1
    return ({line: m for line, m in whole.items() if line < first_in_suffix},
            {line - cursor_line: m for line, m in whole.items() if line >= first_in_suffix})


class ContinuationDecoder:
    """The text of a completion as its ids arrive: `add` returns the text an id adds for
    good, `finish` what is still held back; together they are `decode_continuation` of all
    the ids, for work proportional to the ids rather than to their square.

    Held back: the bytes of a character that byte-level BPE split over several ids, the
    completion's first `len(healed)` characters until it is clear whether they repeat the
    healed text, and what `indentation.StreamDecoder` holds back.
    """

    def __init__(self, tokenizer: Tokenizer, state: indentation.DecoderState | None, healed: str,
                 indented: bool):
        self._tokenizer = tokenizer
        self._ids: list[int] = []  # ids whose bytes do not end a character yet
        self._healed, self._head = healed, ""
        self._lines = indentation.StreamDecoder(state) if indented else None

    def add(self, token: int) -> str:
        self._ids.append(token)
        text = self._tokenizer.decode(self._ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # mid-character, most likely: wait for the next id
            return ""
        self._ids = []
        return self._decoded(self._unhealed(text, final=False))

    def finish(self) -> str:
        text = self._tokenizer.decode(self._ids, skip_special_tokens=True)
        self._ids = []
        text = self._decoded(self._unhealed(text, final=True))
        return text + self._lines.finish() if self._lines else text

    def _unhealed(self, text: str, final: bool) -> str:
        if not self._healed:
            return text
        self._head += text
        if len(self._head) < len(self._healed) and not final:
            return ""
        head, healed, self._head, self._healed = self._head, self._healed, "", ""
        return head[len(healed):] if head.startswith(healed) else head

    def _decoded(self, text: str) -> str:
        return self._lines.add(text) if self._lines else text


def transform(src: str, variant: str) -> str:
    """The text that BPE sees for `src` under `variant` (identity for `bpe`)."""
    if variant == "bpe":
        return src
    markers = indentation.annotate_statements(src) if variant == "ast" else None
    return indentation.encode(src, markers)
