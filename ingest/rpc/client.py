"""Batched JSON-RPC over HTTP with bounded concurrency and retries.

A thin aiohttp client rather than web3's AsyncHTTPProvider: web3 8 does not retry batch
requests, drops the `Retry-After` header when it raises on HTTP errors, and formats every
block into AttributeDicts, which costs more than the fetch itself.

Retried: timeouts, dropped connections, HTTP 429 and 5xx, answers that are not JSON, batch
items missing from the answer, and JSON-RPC errors that say "rate limit". Waits grow
exponentially with full jitter; a `Retry-After` pauses every request of the client.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from core.errors import AidropError

Call = tuple[str, list[Any]]
_RETRY_STATUS = {429, 500, 502, 503, 504, 520, 521, 522, 524}
_RATE_LIMIT_CODES = {-32005, -32029, 429}
_RATE_LIMIT_WORDS = ("rate limit", "too many requests", "limit exceeded", "try again", "timeout", "busy")


class RpcError(AidropError):
    """The node answered with an error that retrying will not fix."""

    code = "RPC_ERROR"

    def __init__(self, message: str, rpc_code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.rpc_code = rpc_code
        self.data = data


class RpcUnavailable(AidropError, ConnectionError):
    """The node could not be reached (or kept failing) after every retry."""

    code = "RPC_UNAVAILABLE"


class WrongChain(AidropError):
    code = "WRONG_CHAIN"


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass
class RetryPolicy:
    attempts: int = 8  # tries per request, the first included
    base: float = 0.25  # first backoff ceiling, seconds; doubles each retry
    cap: float = 10.0  # backoff ceiling
    max_retry_after: float = 60.0  # longest Retry-After honoured

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter below base * 2**attempt; never less than the server's Retry-After."""
        backoff = random.uniform(0, min(self.cap, self.base * 2**attempt))
        if retry_after is not None:
            return min(retry_after, self.max_retry_after) + random.uniform(0, self.base)
        return backoff


@dataclass
class ClientStats:
    requests: int = 0  # HTTP requests sent
    calls: int = 0  # JSON-RPC calls answered
    retries: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def retried(self, reason: str) -> None:
        self.retries += 1
        key = reason.split(":")[0]
        self.reasons[key] = self.reasons.get(key, 0) + 1


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_rate_limit(error: dict) -> bool:
    message = str(error.get("message", "")).lower()
    return error.get("code") in _RATE_LIMIT_CODES or any(w in message for w in _RATE_LIMIT_WORDS)


def _error(error: dict) -> RpcError:
    return RpcError(
        f"{error.get('message', 'error')} (code {error.get('code')})", error.get("code"), error.get("data")
    )


class RpcClient:
    """JSON-RPC client for one node. Use as `async with RpcClient(url) as client`."""

    def __init__(
        self,
        url: str,
        *,
        batch_size: int = 50,
        concurrency: int = 4,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise RpcError(f"RPC URL must start with http:// or https://, not {url!r}")
        self.url = url
        self.batch_size = max(1, batch_size)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.stats = ClientStats()
        self._sem = asyncio.Semaphore(max(1, concurrency))
        self._concurrency = max(1, concurrency)
        self._ids = itertools.count(1)
        self._not_before = 0.0  # monotonic time before which no request is sent (Retry-After)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._concurrency),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"Content-Type": "application/json"},
            )
        return self._session

    # ---- public calls --------------------------------------------------------------------
    async def call(self, method: str, params: list[Any] | None = None) -> Any:
        return (await self.batch([(method, params or [])]))[0]

    async def batch(
        self, calls: Sequence[Call], *, size: int | None = None, errors: str = "raise"
    ) -> list[Any]:
        """Results in the order of `calls`, sent in concurrent batches of `size` (default
        `batch_size`) calls.

        With errors="return", a call the node refused yields its RpcError instead of raising
        (eth_call on contracts without the function)."""
        size = min(size or self.batch_size, self.batch_size)
        chunks = [calls[i : i + size] for i in range(0, len(calls), size)]
        parts = await asyncio.gather(*(self._send_chunk(list(c)) for c in chunks))
        results = [r for part in parts for r in part]
        if errors == "raise":
            for r in results:
                if isinstance(r, RpcError):
                    raise r
        return results

    async def chain_id(self) -> int:
        return int(await self.call("eth_chainId"), 16)

    async def block_number(self) -> int:
        return int(await self.call("eth_blockNumber"), 16)

    async def check_chain(self, expected: int | None, attempts: int = 3) -> int:
        """The node's chain id (a few tries only: a wrong URL fails fast); WrongChain if it
        is not the expected one."""
        got = int((await self._send_chunk([("eth_chainId", [])], attempts))[0], 16)
        if expected is not None and got != expected:
            raise WrongChain(f"the node at {self.url} is on chain id {got}, expected {expected}")
        return got

    # ---- one batch, retried until every call has an answer ------------------------------
    async def _send_chunk(self, calls: list[Call], attempts: int | None = None) -> list[Any]:
        attempts = attempts or self.retry.attempts
        ids = [next(self._ids) for _ in calls]
        answers: dict[int, Any] = {}
        for attempt in range(attempts):
            pending = [(i, c) for i, c in zip(ids, calls, strict=True) if i not in answers]
            try:
                self._collect(await self._post(pending), answers)
                missing = sum(1 for i, _ in pending if i not in answers)
                if not missing:
                    break
                raise _Transient(f"partial answer: {missing} of {len(pending)} calls missing or rate limited")
            except _Transient as exc:
                if attempt == attempts - 1:
                    if str(exc).startswith("unreachable"):
                        raise RpcUnavailable(f"the node at {self.url} is {exc}") from None
                    raise RpcUnavailable(
                        f"the node at {self.url} kept failing after {attempts} tries: {exc}"
                    ) from None
                self.stats.retried(str(exc))
                wait = self.retry.delay(attempt, exc.retry_after)
                if exc.retry_after is not None:
                    self._not_before = max(self._not_before, time.monotonic() + wait)
                await asyncio.sleep(wait)
        self.stats.calls += len(calls)
        return [answers[i] for i in ids]

    @staticmethod
    def _collect(items: list[dict], answers: dict[int, Any]) -> None:
        """Keep the final answers; rate-limited items stay missing and are sent again."""
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                continue
            error = item.get("error")
            if error is not None and not isinstance(error, dict):
                error = {"message": str(error)}
            if error is None:
                answers[item["id"]] = item.get("result")
            elif not _is_rate_limit(error):
                answers[item["id"]] = _error(error)

    async def _post(self, pending: list[tuple[int, Call]]) -> list[dict]:
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in pending]
        wait = self._not_before - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        async with self._sem:
            self.stats.requests += 1
            try:
                async with self._http().post(self.url, data=json.dumps(body)) as resp:
                    raw = await resp.read()
                    status, retry_after = resp.status, _retry_after(resp.headers.get("Retry-After"))
            except TimeoutError as exc:
                raise _Transient(f"timeout: no answer within {self.timeout}s") from exc
            except aiohttp.ClientConnectorError as exc:
                raise _Transient(f"unreachable: {exc}") from exc
            except (aiohttp.ClientError, OSError) as exc:
                raise _Transient(f"connection: {exc!r}") from exc
        if status in _RETRY_STATUS:
            raise _Transient(f"http {status}", retry_after if status in (429, 503) else None)
        if status >= 400:
            raise RpcError(f"the node at {self.url} answered HTTP {status}: {raw[:200]!r}")
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise _Transient(f"bad answer: not JSON ({raw[:80]!r})") from exc
        if isinstance(data, dict):
            # A single error object for the whole batch (e.g. a rate limit or batches refused).
            error = data.get("error") or {}
            if _is_rate_limit(error):
                raise _Transient(f"rate limited: {error.get('message')}")
            if len(pending) == 1 and "id" in data:
                return [data]
            if error:
                refused = _error(error)
                raise RpcError(f"{refused} for a batch of {len(pending)} calls (try a smaller --batch-size)",
                               refused.rpc_code, refused.data)  # fmt: skip
            raise RpcError(f"unexpected answer {raw[:200]!r}")
        return data
