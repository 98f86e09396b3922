"""Text fingerprints for near-duplicate pages: a 64-bit SimHash over word 3-shingles.

Two copies of one article (a print version, a syndicated copy with another site's
furniture, the same post under two addresses) differ in a few bits; different articles
differ in about half of them."""

from __future__ import annotations

import hashlib
import re

_WORDS = re.compile(r"\w+")
BITS = 64


def simhash(text: str) -> int:
    """The SimHash of ``text`` (0 for text of fewer than three words)."""
    words = _WORDS.findall(text.casefold())
    shingles = {" ".join(words[i:i + 3]) for i in range(max(len(words) - 2, 0))}
    if not shingles:
        return 0
    weights = [0] * BITS
    for shingle in shingles:
        value = int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")
        for bit in range(BITS):
            weights[bit] += 1 if value >> bit & 1 else -1
    return sum(1 << bit for bit in range(BITS) if weights[bit] > 0)

