"""Text encodings of CSV input: UTF-8 with or without BOM and UTF-16/32 with BOM are decoded; Latin-1
and other non-UTF-8 text is refused naming the row and column of the first bad byte."""

from __future__ import annotations

import codecs
import csv

from pathgptomic.errors import InputValidationError

_UTF_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _bom_encoding(data: bytes | bytearray) -> str | None:
    return next((enc for bom, enc in _UTF_BOMS if data.startswith(bom)), None)


def _looks_utf16_without_bom(data: bytes | bytearray) -> bool:
    """True when every other byte of the start is 0 (UTF-16 text of mostly ASCII characters)."""
    sample = bytes(data[:4096])
    if len(sample) < 8:
        return False
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    return (zeros_odd > 0.9 and zeros_even < 0.1) or (zeros_even > 0.9 and zeros_odd < 0.1)


def _binary_error(name: str) -> InputValidationError:
    return InputValidationError(
        f"{name}: is not a text CSV (it contains binary data, NUL bytes; is it an image, Excel or zip file?). "
        "Fix: save the table as comma-separated values (.csv)."
    )


def _not_utf8_error(data: bytes | bytearray, pos: int, name: str) -> InputValidationError:
    """Name the row (line) and column of the first byte that is not UTF-8, and the likely character."""
    row = data.count(b"\n", 0, pos) + 1
    start = data.rfind(b"\n", 0, pos) + 1
    prefix = bytes(data[start:pos]).decode("utf-8", errors="replace")
    col = len(next(csv.reader([prefix]), [""])) - 1 if prefix else 0
    header_end = data.find(b"\n")
    header = next(csv.reader([bytes(data[: header_end if header_end >= 0 else len(data)]).decode("utf-8", errors="replace")]), [])
    where = f", column {header[col].strip()!r}" if row > 1 and col < len(header) else ""
    byte = data[pos]
    guess = bytes([byte]).decode("cp1252", errors="replace")
    return InputValidationError(
        f"{name}: row {row}{where}: byte 0x{byte:02x} (probably {guess!r} in a Latin-1/Windows-1252 file) is not UTF-8 "
        "text. Fix: save the file as 'CSV UTF-8 (Comma delimited)' (Excel: File > Save As), or convert it, "
        "e.g. iconv -f latin1 -t utf-8 in.csv > out.csv."
    )


def _decode_text(data: bytes | bytearray, name: str, *, final: bool = True) -> str:
    """Decode CSV text: UTF-8 (with or without BOM), or UTF-16/32 with a BOM.

    Args:
        final: False when ``data`` is a prefix of the file (an incomplete last character is
            then dropped instead of failing).

    Raises:
        InputValidationError: Binary (NUL bytes), UTF-16 without a BOM, or not UTF-8
            (Latin-1 or Windows-1252 text, naming row and column).
    """
    enc = _bom_encoding(data)
    if enc is not None:
        try:
            text = codecs.getincrementaldecoder(enc)().decode(bytes(data), final=final)
        except UnicodeDecodeError as exc:
            raise InputValidationError(
                f"{name}: starts with a {enc.upper()} byte-order mark but is not valid {enc.upper()} text ({exc.reason}). "
                "Fix: save the table as 'CSV UTF-8 (Comma delimited)'."
            ) from exc
        if "\x00" in text:
            raise _binary_error(name)
        return text
    if _looks_utf16_without_bom(data):
        raise InputValidationError(
            f"{name}: is UTF-16 text without a byte-order mark (every other byte is 0), which cannot be read "
            "unambiguously. Fix: save the table as 'CSV UTF-8 (Comma delimited)'."
        )
    if b"\x00" in data:
        raise _binary_error(name)
    skip = 3 if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(bytes(data[skip:]), final=final)
    except UnicodeDecodeError as exc:
        raise _not_utf8_error(data, exc.start + skip, name) from exc


def _utf8_bytes(data: bytearray, name: str) -> bytes:
    """The whole text as valid UTF-8 bytes without a BOM (``data`` is emptied to save memory).

    Raises:
        InputValidationError: As :func:`_decode_text`.
    """
    if _bom_encoding(data) is not None:
        text = _decode_text(data, name)
        data.clear()
        return text.encode("utf-8")
    if _looks_utf16_without_bom(data) or b"\x00" in data:
        _decode_text(data, name)  # raises the precise error (UTF-16 without BOM, or binary)
    skip = 3 if data.startswith(codecs.BOM_UTF8) else 0
    out = bytes(data[skip:])
    data.clear()
    try:
        out.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8_error(out, exc.start, name) from exc
    return out
