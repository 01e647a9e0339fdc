"""Per-request context: settings, the shared services, the caller's key and the DataLoaders.

The loaders batch every wallet read of one request: N wallets in a list cost one statement per
field (node properties, stats, counterparties, transfers), not N.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from api.loader import Loader
from graph.model import Counterparty, Wallet, WalletStats
from graph.store import TransferPage

if TYPE_CHECKING:
    from core.settings import Settings
    from graph.store import GraphStore
    from jobs.blobs import BlobStore
    from jobs.queue import JobQueue
    from jobs.records import JobRecord, JobRecords
    from ml.analyzer import Analyzer

T = TypeVar("T")

CLUSTER_PROFILE_TTL_S = 30.0
CLUSTER_PROFILE_MISS_S = 2.0


@dataclass
class Services:
    """What lives as long as the app: one graph store, blob store, Redis client, job queue and
    the analyzer (ml/analyzer.py; the queue's)."""

    settings: Settings
    store: GraphStore
    blobs: BlobStore
    records: JobRecords
    queue: JobQueue
    cluster_profiles: tuple[float, dict[int, dict[str, Any]]] = (0.0, {})
    _refresh: asyncio.Task | None = None

    @property
    def analyzer(self) -> Analyzer:
        return self.queue.analyzer

    def may_refresh_profiles(self) -> bool:
        """A cluster missing from the cache may be new: read again, at most every few seconds."""
        return time.monotonic() - self.cluster_profiles[0] > CLUSTER_PROFILE_MISS_S

    async def profiles(self, force: bool = False) -> dict[int, dict[str, Any]]:
        """Cluster id -> profile from the analyzer (which reads them once per cluster model
        version), asked again after CLUSTER_PROFILE_TTL_S."""
        stamp, cached = self.cluster_profiles
        if force or time.monotonic() - stamp > CLUSTER_PROFILE_TTL_S:
            cached = await asyncio.to_thread(self.analyzer.cluster_profiles)
            self.cluster_profiles = (time.monotonic(), cached)
        return cached

    def cached_profiles(self) -> dict[int, dict[str, Any]]:
        """The profiles as last read, without waiting (a stale copy starts a refresh)."""
        stamp, cached = self.cluster_profiles
        if time.monotonic() - stamp > CLUSTER_PROFILE_TTL_S and self._refresh is None:
            self._refresh = asyncio.get_running_loop().create_task(self._refresh_profiles())
        return cached

    async def _refresh_profiles(self) -> None:
        try:
            await self.profiles()
        finally:
            self._refresh = None


class lazy(Generic[T]):  # noqa: N801 - used like functools.cached_property
    """functools.cached_property without the lock Python 3.11 takes on every first read."""

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self.fn = fn
        self.name = fn.__name__

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]  # the descriptor itself, read on the class
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


def _grouped(keys: list[tuple]) -> dict[tuple, list[str]]:
    """Keys (address, *args) grouped by args: one statement per distinct argument set."""
    groups: dict[tuple, list[str]] = {}
    for key in keys:
        groups.setdefault(key[1:], [])
        if key[0] not in groups[key[1:]]:
            groups[key[1:]].append(key[0])
    return groups


@dataclass
class Context:
    """One request's context; its DataLoaders are made on first use (most requests need two)."""

    services: Services
    request: Any
    response: Any
    api_key: str | None
    key_ok: bool
    connection_params: Any = None  # a WebSocket's connection_init payload (strawberry sets it)

    @property
    def authenticated(self) -> bool:
        """A valid key in the header or, on a WebSocket, in connection_init's payload."""
        if self.key_ok:
            return True
        params = self.connection_params if isinstance(self.connection_params, dict) else {}
        key = params.get(self.settings.api_key_header) or params.get("apiKey")
        return bool(key) and any(hmac.compare_digest(str(key), k) for k in self.settings.api_key_set)

    @lazy
    def wallets(self) -> Loader[str, Wallet | None]:
        store = self.services.store

        async def load(keys: list[str]) -> list[Wallet | None]:
            found = await store.wallets_by_address(keys)
            return [found.get(k) for k in keys]

        return Loader(load)

    @lazy
    def stats(self) -> Loader[tuple[str, int | None], WalletStats | None]:
        """Keys (address, chain): a null chain counts every chain's transfers."""
        store = self.services.store

        async def load(keys: list[tuple[str, int | None]]) -> list[WalletStats | None]:
            out: dict[tuple, WalletStats | None] = {}
            for (chain,), addresses in _grouped(keys).items():
                found = await store.stats_by_address(addresses, chain)
                out.update({(a, chain): found.get(a) for a in addresses})
            return [out[k] for k in keys]

        return Loader(load)

    @lazy
    def counterparties(self) -> Loader[tuple[str, int, int | None], list[Counterparty]]:
        store = self.services.store

        async def load(keys: list[tuple[str, int, int | None]]) -> list[list[Counterparty]]:
            out: dict[tuple, list[Counterparty]] = {}
            for (first, chain), addresses in _grouped(keys).items():
                found = await store.counterparties_by_address(addresses, first, chain)
                out.update({(a, first, chain): found.get(a, []) for a in addresses})
            return [out[k] for k in keys]

        return Loader(load)

    @lazy
    def transfers(self) -> Loader[tuple, TransferPage]:
        store = self.services.store

        async def load(keys: list[tuple]) -> list[TransferPage]:
            out: dict[tuple, TransferPage] = {}
            for args, addresses in _grouped(keys).items():
                found = await store.transfers_by_address(addresses, *args)
                out.update({(a, *args): found.get(a, TransferPage([], None)) for a in addresses})
            return [out[k] for k in keys]

        return Loader(load)

    @lazy
    def jobs(self) -> Loader[str, JobRecord | None]:
        return Loader(self.services.records.get_many)

    @property
    def settings(self) -> Settings:
        return self.services.settings
