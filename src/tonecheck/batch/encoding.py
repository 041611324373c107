"""Decoding transcript files: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030/GBK.

Exports from Chinese Windows tools are often GBK; GB18030 is its superset, so
one attempt covers both. Bytes that are none of these (binary files, Latin-1
exports) raise :class:`DecodeError` with a one-line reason.
"""
from __future__ import annotations

import codecs


class DecodeError(ValueError):
    """The bytes are not text in a supported encoding."""


def _plausible(text: str) -> bool:
    """Reject decodings full of control characters (binary data)."""
    if "\x00" in text:
        return False
    bad = sum(1 for c in text[:4000] if ord(c) < 32 and c not in "\t\r\n\f")
    return bad <= 2


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Return ``(text, encoding_name)``; BOMs are removed."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise DecodeError(f"UTF-8 BOM but invalid UTF-8 at byte {exc.start + 3}") from None
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise DecodeError("UTF-16 BOM but invalid UTF-16") from None
    try:
        text = data.decode("utf-8")
        if _plausible(text):
            return text, "utf-8"
        raise DecodeError("binary data (control characters), not a text transcript")
    except UnicodeDecodeError:
        pass
    if _looks_japanese(data):
        raise DecodeError("Shift-JIS (Japanese) text, not a supported encoding (UTF-8, UTF-16 or GB18030/GBK); "
                          "re-export the transcript as UTF-8")
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise DecodeError("unknown encoding (not UTF-8, UTF-16 or GB18030/GBK)") from None
    if not _plausible(text) or not _mostly_cjk_or_ascii(text):
        raise DecodeError("unknown encoding (not UTF-8, UTF-16 or GB18030/GBK)")
    return text, "gb18030"


def _mostly_cjk_or_ascii(text: str) -> bool:
    """GB18030 decodes many byte strings; real Chinese text is CJK, ASCII and CJK punctuation."""
    sample = text[:4000]
    if not sample:
        return True
    good = sum(1 for c in sample if ord(c) < 128 or "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f"
               or "\uff00" <= c <= "\uffef" or c in "“”‘’…—·")
    return good / len(sample) >= 0.9


def _looks_japanese(data: bytes) -> bool:
    """Shift-JIS bytes also decode as GB18030 (into nonsense Chinese): tell them apart by the kana.

    Japanese text is full of hiragana and katakana (the particles の は を),
    which Shift-JIS writes with lead bytes 0x82/0x83; in GBK those bytes hold
    rare characters, so GBK text decoded as Shift-JIS shows almost no kana.
    """
    try:
        sample = data[:8000].decode("shift_jis", errors="strict")
    except UnicodeDecodeError:
        try:
            sample = data[:7999].decode("shift_jis", errors="strict")  # a cut multi-byte character
        except UnicodeDecodeError:
            return False
    wide = [c for c in sample if ord(c) > 127]
    kana = sum(1 for c in wide if "\u3040" <= c <= "\u30ff")
    return len(wide) >= 4 and kana / len(wide) >= 0.15
