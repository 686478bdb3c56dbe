"""Reading input files on the command line: UTF-8 (with or without BOM) or a one-line refusal.

Every command that reads a file goes through :func:`read_utf8` (it needs the text) or
:func:`check_utf8` (a library reads the path itself). A file in another encoding — typically
GBK / GB18030 saved by Excel on a Chinese Windows — is refused with one line naming the file, the
first bad byte and its line, and exit code 2 (bad input), never a traceback.
"""
from __future__ import annotations

from pathlib import Path

import click

# Formats read as text; anything else (Shapefile, GeoPackage, zip) is binary and declares its own encoding.
TEXT_SUFFIXES = frozenset({".csv", ".txt", ".json", ".geojson", ".tsv", ".key", ".pem", ".hex", ""})


class InputFileError(click.ClickException):
    """A file that cannot be used as given; one line on stderr, exit code 2."""

    exit_code = 2


def _refusal(path: Path, data: bytes, exc: UnicodeDecodeError) -> InputFileError:
    line = data.count(b"\n", 0, exc.start) + 1
    byte = data[exc.start]
    return InputFileError(
        f"{path}: not UTF-8 text (byte 0x{byte:02x} at offset {exc.start}, line {line}); "
        "save the file as UTF-8 (文件须为 UTF-8 编码)"
    )


def read_utf8(path: Path | str) -> str:
    """The file's text decoded as UTF-8, a leading BOM removed; refuse anything else."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refusal(path, data, exc) from None


def check_utf8(path: Path | str) -> Path:
    """Refuse a text-format file that is not UTF-8; binary formats pass unread. Returns the path."""
    path = Path(path)
    if path.suffix.lower() in TEXT_SUFFIXES:
        read_utf8(path)
    return path
