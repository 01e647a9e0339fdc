"""What issue 13's guards cost per request, in one process (no HTTP, no load generator noise):

- the rate limit: this process's buckets (before), the buckets in Redis with leases (now), and
  the same asking Redis on every request (lease 1, as with a burst under 20);
- validating a document with and without the cost rule (uncached: once per query text; the fast
  path reads the cached verdict).

.venv/bin/python bench/api_guard.py [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import embedded, load_average, table  # noqa: E402


async def limiter_cost(redis_url: str, n: int) -> list[tuple[str, float]]:
    import redis.asyncio as aioredis

    from api.safety import RateLimit, TokenBucket

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        return None

    async def receive():  # type: ignore[no-untyped-def]
        return {"type": "http.request", "body": b""}

    async def send(message):  # type: ignore[no-untyped-def]
        return None

    scope = {
        "type": "http",
        "path": "/graphql",
        "headers": [(b"x-api-key", b"k")],
        "client": ("127.0.0.1", 1),
    }
    out = []
    for label, lease, shared in (("per process (before)", 0, False), ("Redis, leases of 10", 10, True),
                                 ("Redis, every request", 1, True)):  # fmt: skip
        limit = RateLimit(app, 1e9, 10**9, "X-API-Key", frozenset({"k"}), ("/graphql",),
                          redis_of=(lambda: client) if shared else None)  # fmt: skip
        if not shared:
            limit.bucket.take = _sync(TokenBucket(1e9, 10**9).take)  # type: ignore[union-attr]
        else:
            limit.bucket.lease = lease  # type: ignore[union-attr]
        for _ in range(200):
            await limit(scope, receive, send)
        started = time.process_time()
        for _ in range(n):
            await limit(scope, receive, send)
        out.append((label, (time.process_time() - started) / n * 1e6))
    await client.aclose()
    return out


def _sync(take):  # type: ignore[no-untyped-def]
    async def wrapped(client: str) -> float:
        return take(client)

    return wrapped


def validation_cost(rounds: int) -> list[tuple[str, float]]:
    from graphql import parse, specified_rules, validate

    from api.safety import limits_rule
    from api.schema import build_schema

    schema = build_schema()._schema
    query = """query($a: String!) { wallet(address: $a) {
      address typology { code } cluster { id } anomaly { score rank flagged }
      stats { fanIn fanOut inValue outValue }
      counterparties(first: 10) { address wallet { address typology { code } } }
      transfers(first: 20) { edges { node { hash value ts } } } } }"""
    document = parse(query)
    out = []
    for label, rule in (("depth + aliases (before)", limits_rule(12, 30)),
                        ("depth + aliases + cost", limits_rule(12, 30, 25_000))):  # fmt: skip
        rules = (*specified_rules, rule)
        validate(schema, document, rules)
        started = time.process_time()
        for _ in range(rounds):
            assert not validate(schema, document, rules)
        out.append((label, (time.process_time() - started) / rounds * 1e6))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    before = load_average()
    with embedded() as server:
        limits = asyncio.run(limiter_cost(server.redis_db_url(2), args.requests))
    valid = validation_cost(max(200, args.requests // 50))
    rows = [(f"rate limit: {k}", f"{v:.1f}", f"{v / limits[0][1]:.2f}x") for k, v in limits]
    rows += [(f"validation: {k}", f"{v:.1f}", f"{v / valid[0][1]:.2f}x") for k, v in valid]
    print(table(rows, ("what", "CPU us per request", "vs before")))
    print(f"load average before: {before}, after: {load_average()}")


if __name__ == "__main__":
    main()
