"""Chunked CSV reading (pyarrow's streaming reader): memory flat in the file size, every field
as a string, malformed records reported by line, and the bytes consumed for progress bars."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from ingest.report import RowError

BLOCK_BYTES = 8 << 20  # about 50k transactions a chunk
STR = pd.StringDtype("pyarrow", na_value=np.nan)


class MissingColumns(ValueError):
    def __init__(self, path: Path, missing: list[str]) -> None:
        super().__init__(f"{path}: missing column(s) {', '.join(missing)}")


@dataclass
class Chunk:
    frame: pd.DataFrame  # the wanted columns, as Arrow-backed strings ("" for empty)
    lines: np.ndarray  # the line of each row (header = 1)
    errors: list[RowError]  # records that do not have the header's number of fields
    position: int  # bytes of the file consumed so far


def _line_numbers(start: int, count: int, bad: list[int]) -> np.ndarray:
    """Lines of `count` good rows, the first being good row number `start` (0-based)."""
    lines = np.arange(start, start + count, dtype=np.int64) + 2
    for b in sorted(bad):
        lines[lines >= b] += 1
    return lines


def read_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return [c.strip() for c in next(csv.reader(fh), [])]


def read_chunks(
    path: Path, required: Sequence[str], optional: Sequence[str] = (), block_bytes: int = BLOCK_BYTES
) -> Iterator[Chunk]:
    """Read `path` in chunks; `required` columns must be in the header."""
    path = Path(path)
    header = read_header(path)
    missing = [c for c in required if c not in header]
    if missing:
        raise MissingColumns(path, missing)
    wanted = [c for c in header if c in set(required) | set(optional)]
    bad: list[int] = []
    pending: list[RowError] = []

    def invalid(row: pcsv.InvalidRow) -> str:
        line = row.number if row.number is not None else -1
        bad.append(line)
        pending.append(RowError(path.name, line, f"expected {row.expected_columns} fields, "
                                f"saw {row.actual_columns}"))  # fmt: skip
        return "skip"

    stream = pa.input_stream(str(path))
    reader = pcsv.open_csv(
        stream,
        read_options=pcsv.ReadOptions(
            use_threads=False, block_size=block_bytes, column_names=header, skip_rows=1,
            encoding="utf8",
        ),
        parse_options=pcsv.ParseOptions(invalid_row_handler=invalid),
        convert_options=pcsv.ConvertOptions(
            column_types={c: pa.string() for c in header}, include_columns=wanted,
            strings_can_be_null=False, quoted_strings_can_be_null=False,
        ),
    )  # fmt: skip
    good = 0
    with stream:
        for batch in reader:
            frame = batch.to_pandas(types_mapper={pa.string(): STR}.get)
            lines = _line_numbers(good, len(frame), [b for b in bad if b > 0])
            good += len(frame)
            errors, pending[:] = list(pending), []
            yield Chunk(frame, lines, errors, stream.tell())
        if pending:
            yield Chunk(pd.DataFrame({c: pd.Series([], dtype=STR) for c in wanted}),
                        np.zeros(0, np.int64), list(pending), stream.tell())  # fmt: skip
