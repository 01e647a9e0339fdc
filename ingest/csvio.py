"""Chunked CSV reading (pyarrow's streaming reader): memory flat in the file size, every field
as a string, malformed records reported by line, and the bytes consumed for progress bars."""

from __future__ import annotations

import codecs
import csv
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from ingest.report import RowError

if TYPE_CHECKING:
    from typing_extensions import Buffer  # collections.abc.Buffer from Python 3.12

BLOCK_BYTES = 8 << 20  # about 50k transactions a chunk
STR = pd.StringDtype("pyarrow", na_value=np.nan)


class MissingColumns(ValueError):
    def __init__(self, path: Path, missing: list[str], empty: bool = False) -> None:
        if empty:
            super().__init__(f"{path}: the file is empty (expected a header with {', '.join(missing)})")
        else:
            super().__init__(f"{path}: missing column(s) {', '.join(missing)}")


@dataclass
class Chunk:
    frame: pd.DataFrame  # the wanted columns, as Arrow-backed strings ("" for empty)
    lines: np.ndarray  # the line of each row (header = 1)
    errors: list[RowError]  # records that do not have the header's number of fields
    position: int  # bytes of the file consumed so far


def _line_numbers(start: int, count: int, bad: list[tuple[int, int]]) -> np.ndarray:
    """Lines of `count` good rows, the first being good row number `start` (0-based); `bad`
    records (line, further lines they took) sit between them."""
    lines = np.arange(start, start + count, dtype=np.int64) + 2
    for b, extra in sorted(bad):
        lines[lines >= b] += 1 + extra
    return lines


def read_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:  # garbage further on
        return [c.strip() for c in next(csv.reader(fh), [])]


def _replacing(name: str) -> codecs.CodecInfo | None:
    """A codec reading UTF-8 with undecodable bytes as U+FFFD (for files with garbage in them)."""
    if name != REPLACING:
        return None

    class Decoder(codecs.BufferedIncrementalDecoder):
        def _buffer_decode(self, data: Buffer, errors: str, final: bool) -> tuple[str, int]:
            return codecs.utf_8_decode(data, "replace", final)

    def decode(data: Buffer, errors: str = "replace") -> tuple[str, int]:
        return codecs.utf_8_decode(data, "replace", True)

    return codecs.CodecInfo(codecs.utf_8_encode, decode, incrementaldecoder=Decoder, name=REPLACING)


REPLACING = "aidrop_utf8_replacing"
codecs.register(_replacing)


class MalformedFile(ValueError):
    def __init__(self, path: Path, line: int, detail: str) -> None:
        super().__init__(f"{path}: cannot read on from line {line}: {detail}")


def read_chunks(
    path: Path, required: Sequence[str], optional: Sequence[str] = (), block_bytes: int = BLOCK_BYTES
) -> Iterator[Chunk]:
    """Read `path` in chunks; `required` columns must be in the header. Rows that cannot be read
    (a wrong number of fields, a stray quote, bytes that are not UTF-8) come back as errors with
    their line and are skipped; the rest of the file is read."""
    path = Path(path)
    header = read_header(path)
    if not header:
        raise MissingColumns(path, list(required), empty=True)
    missing = [c for c in required if c not in header]
    if missing:
        raise MissingColumns(path, missing)
    wanted = [c for c in header if c in set(required) | set(optional)]
    last = 1  # the last line handed out (the header's)
    hook = sys.unraisablehook  # pyarrow reports a row it cannot decode for our handler there
    sys.unraisablehook = lambda u: None if isinstance(u.exc_value, UnicodeDecodeError) else hook(u)
    try:
        for chunk in _chunks(path, header, wanted, block_bytes, "utf8", 0):
            last = max(last, _last_line(chunk))
            yield chunk
        return
    except pa.ArrowInvalid:
        pass  # bytes that are not UTF-8: read again from where we were, replacing them
    finally:
        sys.unraisablehook = hook
    try:
        for chunk in _chunks(path, header, wanted, block_bytes, REPLACING, last):
            last = max(last, _last_line(chunk))
            yield chunk
    except pa.ArrowInvalid as exc:
        raise MalformedFile(path, last + 1, str(exc)[:200]) from exc


def _last_line(chunk: Chunk) -> int:
    lines = [int(chunk.lines.max())] if len(chunk.lines) else []
    return max([*lines, *(e.line for e in chunk.errors)], default=0)


def _chunks(path: Path, header: list[str], wanted: list[str], block_bytes: int, encoding: str,
            after: int) -> Iterator[Chunk]:  # fmt: skip
    """The chunks of one pass over the file, leaving out lines up to `after` (handed out by an
    earlier pass). Undecodable bytes read as U+FFFD fail the checks of their row."""
    bad: list[tuple[int, int]] = []  # (line, further lines it took)
    pending: list[RowError] = []
    rescued: list[tuple[int, str]] = []  # lines a stray quote swallowed: (first line, text)

    def invalid(row: pcsv.InvalidRow) -> str:
        line = row.number if row.number is not None else -1
        text = row.text or ""
        extra = text.count("\n")
        bad.append((line, extra))
        if extra:  # a quote opened a field that ran on over the following lines
            pending.append(RowError(path.name, line, 'a stray quote (") opens a field that does not close on '
                                    "its line"))  # fmt: skip
            rescued.append((line + 1, text.split("\n", 1)[1]))
        else:
            pending.append(RowError(path.name, line, f"expected {row.expected_columns} fields, "
                                    f"saw {row.actual_columns}"))  # fmt: skip
        return "skip"

    convert = pcsv.ConvertOptions(
        column_types={c: pa.string() for c in header}, include_columns=wanted,
        strings_can_be_null=False, quoted_strings_can_be_null=False,
    )  # fmt: skip
    stream = pa.input_stream(str(path))
    reader = pcsv.open_csv(
        stream,
        read_options=pcsv.ReadOptions(
            use_threads=False, block_size=block_bytes, column_names=header, skip_rows=1, encoding=encoding,
        ),
        parse_options=pcsv.ParseOptions(invalid_row_handler=invalid),
        convert_options=convert,
    )  # fmt: skip
    good = 0
    with stream:
        for batch in reader:
            frame = batch.to_pandas(types_mapper={pa.string(): STR}.get)
            lines = _line_numbers(good, len(frame), [b for b in bad if b[0] > 0])
            good += len(frame)
            errors, pending[:] = list(pending), []
            while rescued:
                first, text = rescued.pop(0)
                more, more_lines, more_errors = _unquoted(path, text, first, header, convert)
                frame = pd.concat([frame, more], ignore_index=True)
                lines = np.concatenate([lines, more_lines])
                errors += more_errors
            if after:
                keep = lines > after
                frame, lines = frame[keep].reset_index(drop=True), lines[keep]
                errors = [e for e in errors if e.line > after]
            yield Chunk(frame, lines, errors, stream.tell())
        if pending:
            errors = [e for e in pending if e.line > after]
            yield Chunk(pd.DataFrame({c: pd.Series([], dtype=STR) for c in wanted}),
                        np.zeros(0, np.int64), errors, stream.tell())  # fmt: skip


def _unquoted(path: Path, text: str, first: int, header: list[str], convert: pcsv.ConvertOptions
              ) -> tuple[pd.DataFrame, np.ndarray, list[RowError]]:  # fmt: skip
    """The rows of lines a stray quote swallowed, read with quotes as plain characters."""
    errors: list[RowError] = []
    bad: list[tuple[int, int]] = []

    def invalid(row: pcsv.InvalidRow) -> str:
        line = first + (row.number or 1) - 1
        bad.append((line, 0))
        errors.append(
            RowError(path.name, line, f"expected {row.expected_columns} fields, saw {row.actual_columns}")
        )
        return "skip"

    table = pcsv.read_csv(
        pa.py_buffer(text.encode()),
        read_options=pcsv.ReadOptions(use_threads=False, column_names=header),
        parse_options=pcsv.ParseOptions(quote_char=False, invalid_row_handler=invalid),
        convert_options=convert,
    )
    frame = table.to_pandas(types_mapper={pa.string(): STR}.get)
    lines = np.arange(first, first + len(frame) + len(bad), dtype=np.int64)
    lines = np.setdiff1d(lines, [b for b, _ in bad])[: len(frame)]
    return frame, lines, errors
