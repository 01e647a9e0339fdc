"""Keep a long-running server's memory close to what it uses (glibc only; elsewhere nothing).

glibc keeps freed heap in its arenas, one per thread that allocated, so the resident size stays
at the high-water mark of the busiest moment: the soak (bench/soak.py) saw the API grow by a step
of 30 MB during a database outage's burst of fast failures and keep it. Fewer arenas and a
periodic `malloc_trim` hand that memory back (bench/RESULTS.md, "Soak")."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any

M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h
ARENAS = 2
TRIM_EVERY_S = 30.0


@functools.cache
def _glibc() -> Any:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


def limit_arenas(arenas: int = ARENAS) -> bool:
    """At most `arenas` malloc arenas from now on (as MALLOC_ARENA_MAX would); False: not glibc."""
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, int(arenas)) == 1)


def trim() -> bool:
    """Return free heap memory to the system; True when some was returned."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0) == 1)
