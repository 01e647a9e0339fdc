"""Vectorised CSV writing. A chunk of records is one uint8 matrix, a row per record; each field
fills its columns right-aligned and says how many of its bytes are used, and the used bytes of
the matrix are the CSV text. No Python loop per record."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# the two hex digits of each byte value as one uint16 (in memory order)
_HEX2 = _HEX[np.arange(256) >> 4].astype(np.uint16) | (_HEX[np.arange(256) & 15].astype(np.uint16) << 8)
_HEX2 = _HEX2.astype("<u2")
_ZERO, _COMMA, _NEWLINE = ord("0"), ord(","), ord("\n")


@dataclass
class Field:
    """A column of `width` bytes: `fill(out, rows)` writes the records `rows` (a slice) into
    out (len, width), right-aligned, and returns the bytes used per row, or None when all are."""

    width: int
    fill: Callable[[np.ndarray, slice], np.ndarray | None]


def const(text: str) -> Field:
    raw = np.frombuffer(text.encode(), dtype=np.uint8)

    def fill(out: np.ndarray, rows: slice) -> None:
        out[:] = raw

    return Field(len(raw), fill)


def empty() -> Field:
    return const("")


def hex_bytes(raw: np.ndarray) -> Field:
    """(n, k) uint8 -> `0x` + 2k lowercase hex digits."""
    k = raw.shape[1]

    def fill(out: np.ndarray, rows: slice) -> None:
        out[:, 0], out[:, 1] = _ZERO, ord("x")
        out[:, 2:].view("<u2")[:] = _HEX2[raw[rows]]

    return Field(2 * k + 2, fill)


def _digits(values: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Decimal digits of non-negative ints, right-aligned and zero-padded into out (n, width);
    returns how many are significant (>= 1)."""
    n, width = out.shape
    v = values.astype(np.uint64)
    need = min(width, len(str(int(v.max())))) if n else 1
    digits = np.empty((need, n), dtype=np.uint8)  # one contiguous row per digit position
    ten = np.uint64(10)
    for row in range(need - 1, -1, -1):
        v, digit = np.divmod(v, ten)
        digits[row] = digit
    leading = np.argmax(digits != 0, axis=0)  # zeros before the first significant digit
    used = np.where(digits[leading, np.arange(n)] == 0, 1, need - leading)
    digits += _ZERO
    out[:, : width - need] = _ZERO
    out[:, width - need :] = digits.T
    return used


def uint(values: np.ndarray, width: int = 20, blank: np.ndarray | None = None) -> Field:
    """Non-negative integers (< 10**width) as decimal text; rows where `blank` is true stay empty."""

    def fill(out: np.ndarray, rows: slice) -> np.ndarray:
        used = _digits(values[rows], out)
        return used if blank is None else np.where(blank[rows], 0, used)

    return Field(width, fill)


def fixed_uint(values: np.ndarray, width: int) -> Field:
    """Integers that all have exactly `width` digits (block numbers, timestamps)."""

    def fill(out: np.ndarray, rows: slice) -> None:
        _digits(values[rows], out)

    return Field(width, fill)


def big_uint(hi: np.ndarray, lo: np.ndarray) -> Field:
    """hi * 10**18 + lo (lo < 10**18) as decimal text: wei and raw token amounts beyond uint64."""

    def fill(out: np.ndarray, rows: slice) -> np.ndarray:
        hi_used = _digits(hi[rows], out[:, :20])
        lo_used = _digits(lo[rows], out[:, 20:])
        return np.where(hi[rows] > 0, hi_used + 18, lo_used)

    return Field(38, fill)


def text_choice(options: Sequence[str], index: np.ndarray) -> Field:
    """One of a few strings per row (selectors, labels)."""
    width = max((len(o) for o in options), default=0)
    table = np.zeros((len(options), width), dtype=np.uint8)
    lengths = np.zeros(len(options), dtype=np.int64)
    for i, option in enumerate(options):
        raw = option.encode()
        table[i, width - len(raw) :] = np.frombuffer(raw, dtype=np.uint8)
        lengths[i] = len(raw)

    def fill(out: np.ndarray, rows: slice) -> np.ndarray:
        out[:] = table[index[rows]]
        return lengths[index[rows]]

    return Field(width, fill)


class Sheet:
    """Formats records in blocks of BLOCK rows, so the working buffers stay in the CPU cache."""

    BLOCK = 4096

    def __init__(self) -> None:
        self._data = np.empty(0, dtype=np.uint8)
        self._keep = np.empty(0, dtype=bool)

    def records(self, n: int, fields: Sequence[Field]) -> Iterator[np.ndarray]:
        """n records of the fields, comma separated, one per line, in blocks of bytes (uint8)."""
        total = sum(f.width + 1 for f in fields)
        size = min(n, self.BLOCK) * total
        if self._data.size < size:
            self._data = np.empty(size, dtype=np.uint8)
            self._keep = np.empty(size, dtype=bool)
        for lo in range(0, n, self.BLOCK):
            rows = slice(lo, min(n, lo + self.BLOCK))
            m = rows.stop - lo
            data = self._data[: m * total].reshape(m, total)
            keep = self._keep[: m * total].reshape(m, total)
            keep[:] = True
            start = 0
            for f in fields:
                stop = start + f.width
                used = f.fill(data[:, start:stop], rows)
                if used is not None:
                    np.greater_equal(np.arange(f.width), (f.width - used)[:, None], out=keep[:, start:stop])
                data[:, stop] = _COMMA
                start = stop + 1
            data[:, -1] = _NEWLINE
            yield data[keep]


def records(n: int, fields: Sequence[Field]) -> bytes:
    return b"".join(block.tobytes() for block in Sheet().records(n, fields))


def partial(path: Path) -> Path:
    """Where a file is written until the whole data set is done (then it is renamed)."""
    return path.with_name(path.name + ".part")


class Output:
    """Writes blocks to their files in a background thread, in the order given (file writes
    overlap the formatting of the next block); a bounded queue keeps memory flat."""

    def __init__(self, depth: int = 8) -> None:
        self._queue: queue.Queue[tuple[BinaryIO, np.ndarray] | None] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="synth-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    item[0].write(item[1])  # type: ignore[call-overload]  # an ndarray is a buffer; numpy's stubs do not say so
                except BaseException as exc:  # reported by put() and close()
                    self._error = exc

    def put(self, fh: BinaryIO, block: np.ndarray) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((fh, block))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


class CsvOut:
    """One output CSV: header written on open, chunks appended, rows counted."""

    def __init__(self, path: Path, columns: Sequence[str], output: Output) -> None:
        self.path = path
        self.rows = 0
        self._output = output
        self._sheet = Sheet()
        self._fh: BinaryIO = partial(path).open("wb")
        self._fh.write((",".join(columns) + "\n").encode())

    def write(self, n: int, fields: Sequence[Field]) -> None:
        for block in self._sheet.records(n, fields):
            self._output.put(self._fh, block)
        self.rows += n

    def close(self) -> None:
        self._fh.close()
