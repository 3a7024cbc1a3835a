"""Reading a legacy CSV file as text, with bounded memory, or refusing it in one line.

A file that cannot be read as text (another encoding, a NUL, a line over the cap, too
large, not a regular file) is refused as a whole, naming the file and the line.
"""

from __future__ import annotations

import csv
import stat
from collections.abc import Iterator
from pathlib import Path

from komawari.errors import InvalidInput

# Memory stays bounded: a file is at most MAX_FILE_BYTES, a line at most MAX_LINE_BYTES
# (Python's csv module refuses a field over 128 KiB too).
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 128 * 1024
# --encoding: what Komawari accepts, and the codec that reads it (UTF-8 with or without
# a byte order mark; cp932 is what Excel saves as "CSV" on a Japanese Windows).
ENCODINGS = {"utf-8": "utf-8-sig", "cp932": "cp932"}
_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def _refuse(path: Path, line: int | None, message: str) -> InvalidInput:
    where = f"line {line}: " if line is not None else ""
    return InvalidInput(str(path), where + message)


def _lines(path: Path, encoding: str) -> Iterator[str]:
    """Yield the decoded lines of a regular file of bounded size, each of bounded length."""
    try:
        info = path.stat()
        handle = path.open("rb")
    except OSError as exc:
        raise _refuse(path, None, f"cannot read the file: {exc.strerror}") from exc
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        raise _refuse(path, None, "not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        handle.close()
        raise _refuse(path, None, f"larger than {MAX_FILE_BYTES // 2**20} MiB; split it")
    codec, total, number = ENCODINGS[encoding], 0, 0
    with handle:
        while raw := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            total += len(raw)
            if number == 1 and raw.startswith(_UTF16_MARKS):
                raise _refuse(path, 1, "the file is UTF-16; save it as UTF-8 (CSV UTF-8)")
            if len(raw) > MAX_LINE_BYTES:
                raise _refuse(path, number, f"longer than {MAX_LINE_BYTES // 1024} KiB")
            if total > MAX_FILE_BYTES:  # it grew while being read
                raise _refuse(path, number, f"past {MAX_FILE_BYTES // 2**20} MiB; split it")
            if b"\0" in raw:
                raise _refuse(path, number, "holds a NUL character (is it UTF-16 or binary?)")
            try:
                yield raw.decode(codec if number == 1 else codec.removesuffix("-sig"))
            except UnicodeDecodeError as exc:
                where = f"byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line"
                hint = "; a file saved by Excel in Japan needs --encoding cp932"
                message = f"not {encoding} text ({where})" + (hint if encoding == "utf-8" else "")
                raise _refuse(path, number, message) from None


def records(
    path: Path, required: tuple[str, ...], encoding: str
) -> Iterator[tuple[int, dict[str, str | None]]]:
    """Yield (line, record) of a CSV file with a header naming at least `required`."""
    reader = csv.DictReader(_lines(path, encoding))
    try:
        header = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in required if c not in header]
        if missing:
            raise _refuse(path, 1, f"missing column(s) {', '.join(missing)}; expected {required}")
        reader.fieldnames = header
        for record in reader:
            yield reader.line_num, record
    except csv.Error as exc:
        raise _refuse(path, reader.line_num, str(exc)) from None
