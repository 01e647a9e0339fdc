"""Chunked CSV reading that keeps memory flat, reports malformed records by line, and knows
how far into the file it is (for progress bars)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.errors import ParserWarning

from ingest.report import RowError

CHUNK_ROWS = 100_000


class MissingColumns(ValueError):
    def __init__(self, path: Path, missing: list[str]) -> None:
        super().__init__(f"{path}: missing column(s) {', '.join(missing)}")


@dataclass
class Chunk:
    frame: pd.DataFrame  # every column as str, "" for empty
    lines: np.ndarray  # the CSV record number of each row (header = 1)
    errors: list[RowError]  # records the parser could not split into the header's fields
    position: int  # bytes of the file consumed so far


def _line_numbers(start: int, count: int, bad: list[int]) -> np.ndarray:
    """Record numbers of `count` good rows, the first being good row number `start` (0-based)."""
    lines = np.arange(start, start + count, dtype=np.int64) + 2
    for b in sorted(bad):
        lines[lines >= b] += 1
    return lines


def read_chunks(
    path: Path, required: list[str], optional: list[str] = (), chunk_rows: int = CHUNK_ROWS
) -> Iterator[Chunk]:
    """Read `path` in chunks of str columns; `required` columns must be in the header."""
    path = Path(path)
    with path.open("rb") as fh:
        header = pd.read_csv(fh, nrows=0).columns.str.strip().tolist()
        missing = [c for c in required if c not in header]
        if missing:
            raise MissingColumns(path, missing)
        fh.seek(0)
        wanted = [c for c in header if c in set(required) | set(optional)]
        bad: list[int] = []
        good = 0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ParserWarning)
            reader = pd.read_csv(
                fh,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                chunksize=chunk_rows,
                on_bad_lines="warn",
                engine="c",
            )
            for frame in reader:
                errors = []
                for w in caught:
                    text = str(w.message).strip()
                    for part in text.split("\n"):
                        if part.startswith("Skipping line"):
                            line = int(part.split()[2].rstrip(":"))
                            bad.append(line)
                            errors.append(RowError(path.name, line, part.split(": ", 1)[1]))
                caught.clear()
                frame.columns = frame.columns.str.strip()
                frame = frame[wanted]  # all columns are parsed so that extra fields are caught
                lines = _line_numbers(good, len(frame), bad)
                good += len(frame)
                yield Chunk(frame, lines, errors, fh.tell())
