"""Bytes → text: byte-order marks, UTF-8, then charset detection; binary files refused."""

from __future__ import annotations

import codecs
import re
import unicodedata

from ingest.errors import DecodeError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "an executable"),
    (b"SQLite format 3", "an SQLite database"),
)


def decode_text(data: bytes) -> tuple[str, str]:
    """Return ``(text, encoding)`` or raise ``DecodeError`` saying why not."""
    if not data.strip():
        raise DecodeError("the file is empty" if not data else "the file holds only whitespace")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _nonblank(_clean(data.decode(encoding))), encoding
            except UnicodeDecodeError as error:
                raise DecodeError(f"starts with a {encoding} byte-order mark but is not "
                                  f"valid {encoding}: {error.reason} at byte {error.start}")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise DecodeError(f"binary file ({what}), not text")
    if b"\x00" in data[:8192]:
        raise DecodeError("binary file (contains NUL bytes), not text")
    try:
        return _nonblank(_clean(data.decode("utf-8"))), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is not None:
        # Western pages that are not UTF-8 are nearly always Windows-1252; take it when it
        # reads as well as the detector's favourite (cp1250 and cp1252 often tie).
        for match in matches:
            if (match.encoding == "cp1252" and match.chaos <= best.chaos
                    and match.coherence >= best.coherence - 0.05):
                best = match
                break
    if best is None or best.encoding is None:
        raise DecodeError("unknown text encoding (neither UTF-8 nor any encoding "
                          "charset-normalizer recognises)")
    text = str(best)
    if _control_ratio(text) > 0.01:
        raise DecodeError(f"binary file (decodes as {best.encoding} only with control "
                          "characters), not text")
    return _nonblank(_clean(text)), best.encoding


def _nonblank(text: str) -> str:
    if not text.strip():
        raise DecodeError("the file holds only whitespace")
    return text


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    return controls / max(len(sample), 1)


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _control_ratio(text) > 0.01:
        raise DecodeError("binary file (mostly control characters), not text")
    return text


_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares in a ``<meta>`` tag within its first 4 KB, if any."""
    match = _META_CHARSET.search(data[:4096])
    if not match:
        return None
    name = match.group(1).decode("ascii", "replace").lower()
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(data: bytes, *, http_charset: str | None = None) -> tuple[str, str]:
    """Bytes of a page → ``(text, encoding)``: byte-order mark, then the HTTP header's
    charset, then the page's ``<meta charset>``, then UTF-8, then detection. A declared
    charset the bytes do not fit is ignored (pages often lie). Stray NUL bytes, which
    browsers drop, are dropped; a page made of them is refused as binary."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise DecodeError(f"binary file ({what}), not a web page")
    if b"\x00" in data[:8192] and not data.startswith(tuple(b for b, _ in _BOMS)):
        nuls = data.count(b"\x00")
        if nuls > len(data) * 0.01:
            raise DecodeError(f"binary file ({nuls:,} NUL bytes), not a web page")
        data = data.replace(b"\x00", b"")
    if data.startswith(tuple(b for b, _ in _BOMS)):
        return decode_text(data)
    for declared in (http_charset, declared_charset(data)):
        if not declared:
            continue
        try:
            codec = codecs.lookup(declared).name
        except LookupError:
            continue
        if codec in ("latin-1", "iso8859-1", "ascii"):
            codec = "cp1252"  # what browsers do with these labels
        try:
            return _nonblank(_clean(data.decode(codec))), codec
        except UnicodeDecodeError:
            continue
    return decode_text(data)
