"""Decide from package metadata whether code may go into the corpus: permissive licences only.

Metadata is messy: an SPDX `License-Expression`, a free-text `License` field (sometimes
the whole licence text), trove classifiers, or only a LICENSE file. `classify` reads them
in that order of reliability and is conservative: any copyleft or proprietary marker
rejects, and text without a recognised permissive licence is unknown (also rejected).
"""

from __future__ import annotations

import functools
import re
from email.parser import HeaderParser

__all__ = ["PERMISSIVE", "REJECTED", "UNKNOWN", "classify", "metadata_licence"]

PERMISSIVE, REJECTED, UNKNOWN = "permissive", "rejected", "unknown"

_PERMISSIVE = re.compile(
    r"\b(MIT|BSD|0BSD|Apache|PSF|Python Software Foundation|Python-2\.0|ISC|Unlicense|Public Domain"
    r"|CC0|Zlib|HPND|Expat|BSL-1\.0|Boost Software License|WTFPL|Historical Permission"
    r"|Zope Public|ZPL)\b"
    r"|Permission is hereby granted, free of charge"
    r"|Redistribution and use in source and binary forms",
    re.IGNORECASE)
_REJECTED = re.compile(
    r"GPL|General Public License|\bMPL\b|Mozilla Public|\bEPL\b|Eclipse Public|\bCDDL\b|\bEUPL\b"
    r"|\bOSL\b|\bSSPL\b|Commons Clause|Proprietary|Creative Commons.*(NonCommercial|ShareAlike)"
    r"|CC-BY-(NC|SA)|\bBUSL\b|Business Source",
    re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def classify(licence: str) -> str:
    """PERMISSIVE, REJECTED or UNKNOWN for a licence name, SPDX expression or licence text."""
    text = licence.strip()
    if not text:
        return UNKNOWN
    if _is_spdx_expression(text):
        # An OR offers a choice: one fully permissive alternative is enough.
        alternatives = re.split(r"\s+OR\s+", text.replace("(", " ").replace(")", " "))
        if any(all(_PERMISSIVE.search(p) and not _REJECTED.search(p)
                   for p in re.split(r"\s+(?:AND|WITH)\s+", alt)) for alt in alternatives):
            return PERMISSIVE
        return REJECTED if _REJECTED.search(text) else UNKNOWN
    if _REJECTED.search(text):
        return REJECTED
    return PERMISSIVE if _PERMISSIVE.search(text) else UNKNOWN


def _is_spdx_expression(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9.+\-() ]+", text)) and len(text) < 200


def metadata_licence(pkg_info: str, licence_file: str = "") -> str:
    """The licence statement of a PKG-INFO/METADATA file, falling back to the LICENSE text.

    Returns the most specific statement found, for `classify` and for the build report.
    """
    headers = HeaderParser().parsestr(pkg_info)
    expression = (headers.get("License-Expression") or "").strip()
    if expression:
        return expression
    classifiers = [c.split("::")[-1].strip() for c in headers.get_all("Classifier") or []
                   if c.startswith("License ::") and c.strip() != "License :: OSI Approved"]
    field = (headers.get("License") or "").strip()
    statements = classifiers + ([field] if field and field.upper() != "UNKNOWN" else [])
    for statement in statements:
        if classify(statement) == REJECTED:
            return statement
    for statement in statements:
        if classify(statement) == PERMISSIVE:
            return statement
    # The LICENSE file's opening is enough to recognise the common licences.
    return licence_file[:2000].strip() or field
