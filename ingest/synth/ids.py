"""Addresses and hashes from counters: a bijective 64-bit mix makes the first 8 bytes of every
address (or hash) distinct, the rest is filler from further mixes. Cheap, vectorised, seeded."""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)

# Streams keep the address, transaction hash and block hash spaces apart.
ADDRESS, TX_HASH, BLOCK_HASH = 1, 2, 3


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection on uint64."""
    z = x.astype(np.uint64, copy=True)
    z ^= z >> np.uint64(30)
    z *= _C1
    z ^= z >> np.uint64(27)
    z *= _C2
    z ^= z >> np.uint64(31)
    return z


def stream_key(seed: int, stream: int) -> np.uint64:
    return mix64(np.array([(seed * 0x100000001B3 + stream) % 2**64], dtype=np.uint64))[0]


def words(counter: np.ndarray, key: np.uint64, n_words: int) -> np.ndarray:
    """(n, n_words) uint64: word 0 is a bijection of the counter, the others are filler."""
    x = counter.astype(np.uint64) + key
    out = np.empty((len(x), n_words), dtype=np.uint64)
    z = mix64(x)
    out[:, 0] = z
    for i in range(1, n_words):
        z = mix64(z + _GOLDEN)
        out[:, i] = z
    return out


def id_bytes(counter: np.ndarray, seed: int, stream: int, n_bytes: int) -> np.ndarray:
    """(n, n_bytes) uint8, distinct rows for distinct counters (n_bytes >= 8)."""
    n_words = -(-n_bytes // 8)
    raw = words(counter, stream_key(seed, stream), n_words).astype(">u8").view(np.uint8)
    return raw.reshape(len(counter), n_words * 8)[:, :n_bytes]


def address_bytes(index: np.ndarray, seed: int) -> np.ndarray:
    """(n, 20) bytes of the addresses with these indexes; index 0 is the zero address."""
    out = id_bytes(index, seed, ADDRESS, 20)
    out[index == 0] = 0
    return out


def address_text(raw: np.ndarray) -> list[str]:
    return ["0x" + row.tobytes().hex() for row in raw]
