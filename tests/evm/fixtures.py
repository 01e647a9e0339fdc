"""Fixtures of the RPC ingestion tests (register with `pytest_plugins = ["tests.evm.fixtures"]`):
a fresh anvil chain per test, and a fault-injecting proxy in front of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.evm.node import Anvil, FaultProxy


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    node = Anvil()
    yield node
    node.stop()


@pytest.fixture
async def fault_proxy(anvil: Anvil) -> AsyncIterator[FaultProxy]:
    proxy = await FaultProxy(anvil.url).start()
    yield proxy
    await proxy.stop()
