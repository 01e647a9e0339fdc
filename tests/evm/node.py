"""A real local EVM node for the RPC ingestion tests: anvil (npm @foundry-rs/anvil-linux-amd64),
OpenZeppelin 4.9.6 preset contracts (npm @openzeppelin/contracts, precompiled artifacts), and a
fault-injecting HTTP proxy on loopback in front of the node.

The npm packages are installed by `npm ci --prefix tests/evm --ignore-scripts` when missing.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from web3 import Web3

from graph.cypher import Statement
from graph.store import GraphStore

EVM_DIR = Path(__file__).resolve().parent
MODULES = EVM_DIR / "node_modules"
ANVIL = MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
ARTIFACTS = MODULES / "@openzeppelin" / "contracts" / "build" / "contracts"


def ensure_node_modules() -> None:
    if ANVIL.exists() and ARTIFACTS.is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to install anvil and the OpenZeppelin artifacts (tests/evm/package.json)")
    cmd = [npm, "ci", "--prefix", str(EVM_DIR), "--ignore-scripts", "--no-audit", "--no-fund"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or not ANVIL.exists():
        pytest.fail(f"npm ci --prefix tests/evm --ignore-scripts failed:\n{proc.stdout}\n{proc.stderr}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Anvil:
    """One anvil process on a free loopback port; each instance is a fresh chain."""

    def __init__(self, *args: str) -> None:
        ensure_node_modules()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(ANVIL), "--host", "127.0.0.1", "--port", str(self.port), "--silent", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                self.rpc("eth_chainId")
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"anvil did not start: {self.proc.stderr.read()!r}") from None
                time.sleep(0.02)
        self.w3 = Web3(Web3.HTTPProvider(self.url))
        self.accounts = [a.lower() for a in self.w3.eth.accounts]

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
        req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            answer = json.loads(resp.read())
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def rpc_batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        body = json.dumps(
            [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        )
        req = urllib.request.Request(self.url, body.encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            answers = sorted(json.loads(resp.read()), key=lambda a: a["id"])
        bad = [a["error"] for a in answers if "error" in a]
        if bad:
            raise RuntimeError(f"{len(bad)} calls failed, first: {bad[0]}")
        return [a["result"] for a in answers]

    @property
    def head(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def send_eth(self, src: str, dst: str, wei: int, wait: bool = True) -> str:
        """Send ETH from a dev account; with `wait`, return once it is mined (automine mines
        each transaction in its own block, but only as fast as the pool hands them over)."""
        tx = self.rpc("eth_sendTransaction", [{"from": src, "to": dst, "value": hex(wei)}])
        deadline = time.monotonic() + 10
        while wait and self.rpc("eth_getTransactionReceipt", [tx]) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{tx} was not mined")
            time.sleep(0.005)
        return tx

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


def artifact(name: str) -> dict[str, Any]:
    return json.loads((ARTIFACTS / f"{name}.json").read_text())


def deploy(node: Anvil, name: str, *args: Any, sender: str | None = None) -> Any:
    """Deploy an OpenZeppelin preset; the web3 contract object at its address."""
    data = artifact(name)
    factory = node.w3.eth.contract(abi=data["abi"], bytecode=data["bytecode"])
    tx = factory.constructor(*args).transact({"from": Web3.to_checksum_address(sender or node.accounts[0])})
    receipt = node.w3.eth.wait_for_transaction_receipt(tx)
    assert receipt["status"] == 1, name
    return node.w3.eth.contract(address=receipt["contractAddress"], abi=data["abi"])


def send(node: Anvil, call: Any, sender: str, **extra: Any) -> dict[str, Any]:
    """Send a contract call from an unlocked dev account and wait for its receipt."""
    tx = call.transact({"from": Web3.to_checksum_address(sender), **extra})
    return node.w3.eth.wait_for_transaction_receipt(tx)


class FaultProxy:
    """An HTTP server on 127.0.0.1 in front of a node that fails a share of the requests:
    HTTP 429 (with Retry-After), 500 and 503, timeouts (holds the request past the client's
    timeout), dropped connections, and batch answers with a rate-limited item. Reproducible
    with a seed."""

    FAULTS = ("429", "500", "503", "timeout", "drop", "item")

    def __init__(self, upstream: str, rate: float = 0.2, seed: int = 7, hang: float = 0.8,
                 retry_after: str = "0") -> None:  # fmt: skip
        self.upstream = upstream
        self.rate = rate
        self.rng = random.Random(seed)
        self.hang = hang
        self.retry_after = retry_after
        self.requests = 0
        self.faults: dict[str, int] = {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    async def start(self) -> FaultProxy:
        app = web.Application(client_max_size=256 * 1024**2)
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = ClientSession()
        return self

    async def stop(self) -> None:
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    async def _forward(self, body: bytes) -> bytes:
        assert self._session is not None
        async with self._session.post(
            self.upstream, data=body, headers={"Content-Type": "application/json"}
        ) as r:
            return await r.read()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests += 1
        fault = self.rng.choice(self.FAULTS) if self.rng.random() < self.rate else None
        if fault:
            self.faults[fault] = self.faults.get(fault, 0) + 1
        if fault == "429":
            return web.Response(
                status=429, text="Too Many Requests", headers={"Retry-After": self.retry_after}
            )
        if fault in ("500", "503"):
            return web.Response(status=int(fault), text="upstream error")
        if fault == "timeout":
            await asyncio.sleep(self.hang)
            return web.Response(status=504, text="too late")
        answer = await self._forward(body)
        if fault == "drop":  # the node did the work, the answer is lost on the way
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        if fault == "item":
            items = json.loads(answer)
            if isinstance(items, list) and items:
                i = self.rng.randrange(len(items))
                items[i] = {"jsonrpc": "2.0", "id": items[i]["id"],
                            "error": {"code": -32005, "message": "limit exceeded"}}  # fmt: skip
                answer = json.dumps(items).encode()
        return web.Response(body=answer, content_type="application/json")


ZERO = "0x" + "0" * 40
E18 = 10**18


def build_scenario(node: Anvil) -> list[tuple]:
    """ETH transfers, an ERC-20, an ERC-721 and an ERC-1155 (single and batch), a failed
    transaction; one transaction per block. Returns the expected transfers as tuples
    (from, to, token, value_raw, status, token_id): token is "ETH" or the token contract's
    address, token_id None for fungible transfers."""
    a0, a1, a2, a3, a4 = node.accounts[:5]
    exp: list[tuple] = []

    def native(src: str, dst: str, wei: int = 0, status: int = 1) -> None:
        exp.append((src, dst, "ETH", str(wei), status, None))

    node.send_eth(a0, a1, 3 * E18 // 2)
    native(a0, a1, 3 * E18 // 2)
    node.send_eth(a1, a2, 1)
    native(a1, a2, 1)

    erc20 = deploy(node, "ERC20PresetMinterPauser", "Test Token", "TT")
    t20 = erc20.address.lower()
    native(a0, t20)
    send(node, erc20.functions.mint(node.w3.to_checksum_address(a1), 1000 * E18), a0)
    native(a0, t20)
    exp.append((ZERO, a1, t20, str(1000 * E18), 1, None))
    send(node, erc20.functions.transfer(node.w3.to_checksum_address(a2), 250 * E18 + E18 // 2), a1)
    native(a1, t20)
    exp.append((a1, a2, t20, str(250 * E18 + E18 // 2), 1, None))
    # Failed: ETH sent to a contract that refuses it (status 0, no value moved).
    tx = node.w3.eth.send_transaction({"from": node.w3.to_checksum_address(a2), "to": erc20.address,
                                       "value": E18, "gas": 100_000})  # fmt: skip
    assert node.w3.eth.wait_for_transaction_receipt(tx)["status"] == 0
    native(a2, t20, 0, 0)

    erc721 = deploy(node, "ERC721PresetMinterPauserAutoId", "Test NFT", "TNFT", "ipfs://t/")
    t721 = erc721.address.lower()
    native(a0, t721)
    for token_id in (0, 1):
        send(node, erc721.functions.mint(node.w3.to_checksum_address(a1)), a0)
        native(a0, t721)
        exp.append((ZERO, a1, t721, "1", 1, str(token_id)))
    cs = node.w3.to_checksum_address
    send(node, erc721.functions.transferFrom(cs(a1), cs(a3), 1), a1)
    native(a1, t721)
    exp.append((a1, a3, t721, "1", 1, "1"))

    erc1155 = deploy(node, "ERC1155PresetMinterPauser", "ipfs://m/{id}")
    t1155 = erc1155.address.lower()
    native(a0, t1155)
    send(node, erc1155.functions.mint(cs(a1), 7, 10, b""), a0)
    native(a0, t1155)
    exp.append((ZERO, a1, t1155, "10", 1, "7"))
    send(node, erc1155.functions.mintBatch(cs(a1), [1, 2, 3], [5, 6, 2**200], b""), a0)
    native(a0, t1155)
    exp += [
        (ZERO, a1, t1155, "5", 1, "1"),
        (ZERO, a1, t1155, "6", 1, "2"),
        (ZERO, a1, t1155, str(2**200), 1, "3"),
    ]
    send(node, erc1155.functions.safeTransferFrom(cs(a1), cs(a2), 7, 4, b""), a1)
    native(a1, t1155)
    exp.append((a1, a2, t1155, "4", 1, "7"))
    send(node, erc1155.functions.safeBatchTransferFrom(cs(a1), cs(a4), [1, 3], [2, 3], b""), a1)
    native(a1, t1155)
    exp += [(a1, a4, t1155, "2", 1, "1"), (a1, a4, t1155, "3", 1, "3")]
    node.send_eth(a3, a4, 7 * E18)
    native(a3, a4, 7 * E18)
    return exp


# Every transfer with every property (test-only, not in the registry).
ALL_TRANSFERS = Statement(
    "test_all_transfers",
    """
MATCH (a:Wallet)-[t:TRANSFER]->(b:Wallet)
RETURN a.address AS from_address, b.address AS to_address, t.hash AS hash, t.log_index AS log_index,
  t.value AS value, t.value_raw AS value_raw, t.token AS token, t.ts AS ts, t.block AS block,
  t.status AS status, t.tx_count AS tx_count, t.fee AS fee, t.token_id AS token_id, t.chain AS chain
""",
)
ALL_NODES = Statement("test_all_nodes", "MATCH (n) RETURN labels(n) AS labels, properties(n) AS props")


async def graph_state(store: GraphStore) -> tuple[list[tuple], list[tuple]]:
    """The wallet graph as sorted plain data: wallets (labels, properties) and transfers
    (every property); :Chain and :Block nodes left out."""
    nodes = [
        (tuple(sorted(r["labels"])), tuple(sorted(r["props"].items())))
        for r in await store.query(ALL_NODES)
        if "Wallet" in r["labels"]
    ]
    transfers = [tuple(sorted(r.items())) for r in await store.query(ALL_TRANSFERS)]
    return sorted(nodes), sorted(transfers)
