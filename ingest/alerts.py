"""Watch rules evaluated as ingestion adds transfers, and alerts sent to webhooks.

Rules (texts, as `aidrop watch add --rule` takes them):
- `any`: every transfer of the wallet, either way;
- `value>X`: a native transfer above X ETH, either way;
- `exposure>S`, `exposure:CATEGORY>S`: the wallet's share of value from or to risky categories
  (one category) rises above S; updated from the counterparties' stored exposure (ml/exposure.py
  one hop at a time), alerting when it crosses the threshold;
- `labelled`, `labelled:CATEGORY`: the first interaction with a labelled wallet (per
  counterparty, since the watch began);
- `anomaly`, `typology`, `sybil`, `laundering`: the wallet's state changes (flagged anomalous,
  another typology code, joined a sybil cluster or a laundering pattern). These read what other
  parts of aidrop write through PROBES, a table other modules can extend.

`Monitor` is called with each batch ingestion writes; only the watched wallets it touches are
evaluated. `Deliverer` posts the alerts of watches with a webhook, signed with HMAC-SHA256 of the
body (`X-Aidrop-Signature: sha256=<hex>`, key AIDROP_WEBHOOK_SECRET), retrying with exponential
backoff in the background: a dead webhook never holds ingestion up, and an alert is marked
delivered once its webhook answered 2xx (receivers de-duplicate by `X-Aidrop-Alert-Id`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from graph import cypher as q
from graph import watch as gw
from graph.labels import RISK_CATEGORIES
from graph.model import NATIVE_TOKEN
from graph.store import GraphStore

log = logging.getLogger("aidrop.alerts")
RULE = re.compile(
    r"^(any|anomaly|typology|sybil|laundering|labelled(?::([a-z_]+))?|value>([0-9.eE+-]+)"
    r"|exposure(?::([a-z_]+))?>([0-9.eE+-]+))$"
)
MAX_RULES = 20


@dataclass(frozen=True)
class Rule:
    text: str
    kind: str  # any | value | exposure | labelled | anomaly | typology | sybil | laundering
    category: str | None = None
    threshold: float | None = None


def parse_rule(text: str) -> Rule:
    m = RULE.match(text.strip().lower().replace(" ", ""))
    if not m:
        raise gw.WatchError(
            f"unknown rule {text!r}: any, value>X, exposure>S, exposure:CATEGORY>S, labelled[:CATEGORY], "
            "anomaly, typology, sybil, laundering"
        )
    body = m.group(0)
    if body.startswith("value>"):
        return Rule(body, "value", threshold=float(m.group(3)))
    if body.startswith("exposure"):
        share = float(m.group(5))
        if not 0 <= share <= 1:
            raise gw.WatchError(f"an exposure share is between 0 and 1, not {share}")
        return Rule(body, "exposure", category=m.group(4), threshold=share)
    if body.startswith("labelled"):
        return Rule(body, "labelled", category=m.group(2))
    return Rule(body, body)


def parse_rules(texts: list[str] | tuple[str, ...] | None) -> list[str]:
    rules = [parse_rule(t).text for t in (texts or ["any"])]
    if len(rules) > MAX_RULES:
        raise gw.WatchError(f"at most {MAX_RULES} rules per watch")
    return list(dict.fromkeys(rules))


# ---- state probes: what change rules compare (address -> value; a change to a truthy value alerts) --
Probe = Callable[[GraphStore, list[str]], Awaitable[dict[str, Any]]]


async def _props(store: GraphStore, addresses: list[str]) -> dict[str, dict[str, Any]]:
    rows = await store.query(q.WALLETS_BY_ADDRESS, {"addresses": addresses})
    return {r["address"]: r["props"] or {} for r in rows}


def _prop_probe(read: Callable[[dict[str, Any]], Any]) -> Probe:
    async def probe(store: GraphStore, addresses: list[str]) -> dict[str, Any]:
        return {a: read(p) for a, p in (await _props(store, addresses)).items()}

    return probe


def _in_category(category: str, *props: str) -> Callable[[dict[str, Any]], Any]:
    def read(p: dict[str, Any]) -> Any:
        for name in props:  # a property other parts of aidrop may write (cluster or pattern id)
            if p.get(name) not in (None, "", False):
                return p[name]
        return category in (p.get("label_categories") or [])

    return read


PROBES: dict[str, Probe] = {
    "anomaly": _prop_probe(lambda p: bool(p.get("anomaly_flagged"))),
    "typology": _prop_probe(lambda p: p.get("typology")),
    "sybil": _prop_probe(_in_category("sybil", "sybil_cluster")),
    "laundering": _prop_probe(_in_category("laundering", "laundering_pattern")),
}


# ---- evaluation ---------------------------------------------------------------------------------
def _transfer(row: dict[str, Any]) -> dict[str, Any]:
    return {"hash": row["hash"], "log_index": int(row["log_index"]), "from": row["from_address"],
            "to": row["to_address"], "value": float(row["value"]), "token": row["token"],
            "block": int(row["block"]), "ts": int(row["ts"])}  # fmt: skip


def _counterparty_shares(categories: Any, exposure: Any, side: str) -> dict[str, float]:
    """What share of a transfer with this counterparty counts for each risky category: all of it
    for a labelled risky wallet; an unlabelled one passes its own stored share on (ml/exposure.py)."""
    cats = set(categories or [])
    if cats:
        return {c: 1.0 for c in cats & set(RISK_CATEGORIES)}
    if exposure:
        return {c: float(v.get(side, 0.0)) for c, v in json.loads(exposure).items()}
    return {}


@dataclass
class Flows:
    """A wallet's native value in and out: in total and from/to each risky category."""

    total: dict[str, float]
    risky: dict[str, dict[str, float]]

    def add(self, side: str, value: float, shares: dict[str, float]) -> None:
        self.total[side] = self.total.get(side, 0.0) + value
        per = self.risky.setdefault(side, {})
        for c, s in shares.items():
            per[c] = per.get(c, 0.0) + value * s

    def shares(self) -> dict[str, float]:
        """Category -> the larger of its share in and its share out (one hop of ml/exposure.py)."""
        out: dict[str, float] = {}
        for side, per in self.risky.items():
            for c, v in per.items():
                share = v / self.total[side] if self.total.get(side) else 0.0
                out[c] = max(out.get(c, 0.0), share)
        return out


async def read_flows(store: GraphStore, addresses: list[str]) -> dict[str, Flows]:
    """Every native flow of these wallets, from the graph."""
    out = {a: Flows({}, {}) for a in addresses}
    for statement, side in ((q.WATCH_FLOWS_IN, "in"), (q.WATCH_FLOWS_OUT, "out")):
        for r in await store.query(statement, {"addresses": addresses, "native": NATIVE_TOKEN}):
            shares = _counterparty_shares(r["categories"], r["exposure"], side)
            out[r["address"]].add(side, float(r["value"] or 0.0), shares)
    return out


class ExposureSums:
    """The flows of the wallets with exposure rules, read from the graph once and then kept current
    from the batches ingestion writes, so a busy watched wallet is not re-read at every block.
    A transfer seen before (a re-run of a block range) is not counted twice; the sums are read
    again after `ttl` seconds (counterparties' stored exposure and labels change meanwhile) or
    when `max_seen` transfers were counted."""

    PRELOAD = 5000

    def __init__(self, store: GraphStore, ttl: float = 600.0, max_seen: int = 1_000_000) -> None:
        self.store, self.ttl, self.max_seen = store, ttl, max_seen
        self.flows: dict[str, Flows] = {}
        self.seen: set[tuple[int, str, int]] = set()
        self.since = time.monotonic()

    def reset(self) -> None:
        self.flows, self.seen, self.since = {}, set(), time.monotonic()

    async def shares(
        self,
        addresses: list[str],
        rows: list[dict[str, Any]],
        counterparties: dict[str, dict[str, Any]],
        everyone: Collection[str] = (),
    ) -> dict[str, dict[str, float]]:
        """Shares of `addresses` after the batch `rows` (already written to the graph);
        `counterparties` holds the props of the wallets in the rows (absent: unlabelled and not
        exposed). The flows of `everyone` (every wallet with an exposure rule) not read yet are
        read with those of `addresses`, in the same statements, up to PRELOAD wallets."""
        if time.monotonic() - self.since > self.ttl or len(self.seen) > self.max_seen:
            self.reset()
        wanted = set(addresses)
        known = wanted & self.flows.keys()
        for row in rows:
            key = (int(row.get("chain", 1)), row["hash"], int(row["log_index"]))
            if key in self.seen:
                continue
            self.seen.add(key)
            value = float(row["value"])
            if row["token"] != NATIVE_TOKEN or value <= 0 or int(row.get("status", 1)) == 0:
                continue
            for side, me, other in (
                ("in", "to_address", "from_address"),
                ("out", "from_address", "to_address"),
            ):
                if row[me] in known:
                    props = counterparties.get(row[other], {})
                    shares = _counterparty_shares(
                        props.get("label_categories"), props.get("exposure_categories"), side
                    )
                    self.flows[row[me]].add(side, value, shares)
        fresh = wanted - known  # read whole: their flows include this batch already
        if fresh and len(everyone) <= self.PRELOAD:
            fresh |= set(everyone) - self.flows.keys()
        if fresh:
            self.flows.update(await read_flows(self.store, sorted(fresh)))
        return {a: self.flows[a].shares() for a in addresses}


class Monitor:
    """Evaluates the watches of the wallets a batch touches; new alerts stored and handed to the
    deliverer (and returned).

    At follow-mode speed the statements per call are what costs (each a round trip of some ms),
    so a monitor keeps the watches and the labelled or exposed wallets (`gw.monitor_view`) in
    memory: it asks the graph whether watches or labels changed at most every `check_s` seconds
    (at once after a change made in this process), reads the view again after `ttl` seconds
    (stored exposure written by another process), and stores a call's alerts and watch states in
    one statement. A call with a touched watched wallet then costs one write (and a read for the
    change rules anomaly, typology, sybil, laundering)."""

    def __init__(
        self, store: GraphStore, deliverer: Deliverer | None = None, check_s: float = 1.0, ttl: float = 600.0
    ) -> None:
        self.store = store
        self.deliverer = deliverer
        self.check_s, self.ttl = check_s, ttl
        self.version: tuple[int, ...] | None = None
        self.local: dict[str, int] | None = None
        self.checked = self.viewed = -float("inf")
        self.by_address: dict[str, list[gw.Watch]] = {}
        self.rules: dict[str, list[Rule]] = {}
        self.exposure_watched: set[str] = set()
        self.view: dict[str, dict[str, Any]] = {}
        self.evaluated = 0
        self.statements = 0  # reads and writes this monitor ran (bench/exposure.py reports them)
        self.seconds = 0.0
        self.exposure = ExposureSums(store)

    async def _refresh(self) -> None:
        now, local = time.monotonic(), gw.local_changes()
        due = now - self.checked >= self.check_s or (self.by_address and now - self.viewed >= self.ttl)
        if local == self.local and not due:
            return
        version = await gw.watch_version(self.store)
        self.statements += 1
        if version[:2] != (self.version or ())[:2]:
            self.by_address = {}
            for w in await gw.watches(self.store):
                self.by_address.setdefault(w.address, []).append(w)
            self.rules = {
                w.id: [parse_rule(r) for r in w.rules] for ws in self.by_address.values() for w in ws
            }
            self.exposure_watched = {
                a
                for a, ws in self.by_address.items()
                if any(r.kind == "exposure" for w in ws for r in self.rules[w.id])
            }
            self.statements += 1
        stale = now - self.viewed >= self.ttl
        relabelled = version[2:] != (self.version or (None,) * 4)[2:]
        reexposed = self.local is not None and local["exposure"] != self.local["exposure"]
        if self.by_address and (stale or relabelled or reexposed):
            self.view = await gw.monitor_view(self.store)
            self.viewed = now
            self.exposure.reset()  # the running sums used the counterparties' old labels and exposure
            self.statements += 1
        self.version, self.local, self.checked = version, local, now

    async def __call__(self, frame: pd.DataFrame) -> list[gw.Alert]:
        started = time.perf_counter()
        await self._refresh()
        if not self.by_address or frame.empty:
            self.seconds += time.perf_counter() - started
            return []
        # a set lookup per row: pandas' isin over Arrow strings costs ~70 ms per call against
        # a thousand watched addresses, more than everything else in a call
        watched = self.by_address.keys()
        src, dst = frame["from_address"].to_numpy(object), frame["to_address"].to_numpy(object)
        hit = frame[
            np.fromiter(
                (a in watched or b in watched for a, b in zip(src, dst, strict=True)), bool, len(frame)
            )
        ]
        if hit.empty:
            self.seconds += time.perf_counter() - started
            return []
        touched = sorted((set(hit["from_address"]) | set(hit["to_address"])) & self.by_address.keys())
        alerts, changed = await self._evaluate(hit, touched)
        fresh = await gw.store_alerts(self.store, alerts, changed)
        self.statements += 1 if alerts or changed else 0
        if self.deliverer is not None:
            for a in fresh:
                if a.webhook:
                    self.deliverer.enqueue(a)
        self.evaluated += len(touched)
        self.seconds += time.perf_counter() - started
        return fresh

    async def _evaluate(self, hit: pd.DataFrame, touched: list[str]) -> tuple[list[gw.Alert], list[gw.Watch]]:
        alerts: list[gw.Alert] = []
        rules = {w.id: self.rules[w.id] for a in touched for w in self.by_address[a]}
        kinds = {r.kind for rs in rules.values() for r in rs}
        records = hit.to_dict("records")
        exposed = [a for a in touched if a in self.exposure_watched]
        others = set(hit["from_address"]) | set(hit["to_address"])
        counterparties = {a: self.view[a] for a in others if a in self.view}
        counterpart_labels = {a: list(p.get("label_categories") or []) for a, p in counterparties.items()}
        exposure = {}
        if exposed:
            reads = len(self.exposure.flows)
            exposure = await self.exposure.shares(exposed, records, counterparties, self.exposure_watched)
            self.statements += 2 if len(self.exposure.flows) != reads else 0
        probed = {k: await PROBES[k](self.store, touched) for k in kinds & PROBES.keys()}
        self.statements += len(probed)
        changed: list[gw.Watch] = []
        now = time.time()
        by_wallet: dict[str, list[dict[str, Any]]] = {}
        for row in records:
            by_wallet.setdefault(row["from_address"], []).append(row)
            if row["to_address"] != row["from_address"]:
                by_wallet.setdefault(row["to_address"], []).append(row)
        for address in touched:
            rows = by_wallet.get(address, [])
            for w in self.by_address[address]:
                before = json.dumps(w.state, sort_keys=True)
                for rule in rules[w.id]:
                    for event, detail in self._fire(
                        rule, w, address, rows, counterpart_labels, exposure, probed
                    ):
                        alerts.append(
                            gw.Alert(
                                gw.alert_id(w.id, rule.text, event),
                                time.time_ns(),
                                w.id,
                                address,
                                rule.text,
                                detail,
                                now,
                                "pending" if w.webhook else "new",
                                w.webhook,
                            )
                        )
                if json.dumps(w.state, sort_keys=True) != before:
                    changed.append(w)
        return alerts, changed

    def _fire(
        self,
        rule: Rule,
        w: gw.Watch,
        address: str,
        rows: pd.DataFrame,
        labels: dict[str, list[str]],
        exposure: dict[str, dict[str, float]],
        probed: dict[str, dict[str, Any]],
    ) -> list[tuple[str, dict[str, Any]]]:
        """(event key, detail) of each alert this rule raises."""
        if rule.kind in ("any", "value"):
            out: list[tuple[str, dict[str, Any]]] = []
            for row in rows:
                if rule.kind == "value" and not (
                    row["token"] == NATIVE_TOKEN and row["value"] > rule.threshold
                ):
                    continue
                out.append((f"{row['hash']}:{row['log_index']}", {"transfer": _transfer(row)}))
            return out
        if rule.kind == "labelled":
            out = []
            for row in rows:
                other = row["to_address"] if row["from_address"] == address else row["from_address"]
                cats = [c for c in labels.get(other, []) if rule.category in (None, c)]
                if cats:
                    out.append(
                        (other, {"counterparty": other, "categories": cats, "transfer": _transfer(row)})
                    )
            return out
        if rule.kind == "exposure":
            shares = exposure.get(address, {})
            share = shares.get(rule.category, 0.0) if rule.category else max(shares.values(), default=0.0)
            above = share > (rule.threshold or 0.0)
            key = f"exposure:{rule.text}"
            was = bool(w.state.get(key))
            w.state[key] = above
            if above and not was:
                crossings = int(w.state.get(key + ":n", 0)) + 1
                w.state[key + ":n"] = crossings
                return [(f"crossing:{crossings}", {"share": round(share, 6), "categories": shares})]
            return []
        value = probed.get(rule.kind, {}).get(address)
        key = f"state:{rule.kind}"
        before = w.state.get(key)
        w.state[key] = value
        if value not in (None, False, "") and value != before:
            return [(f"{rule.kind}:{value}:{before}", {"from": before, "to": value})]
        return []


# ---- webhook delivery ------------------------------------------------------------------------------
def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Deliverer:
    """Posts alerts to their webhooks in the background, with exponential backoff; started with
    the alerts still pending in the graph, so a restart delivers what a crash left behind."""

    def __init__(
        self,
        store: GraphStore,
        secret: str,
        base: float = 0.5,
        cap: float = 30.0,
        max_attempts: int = 40,
        timeout: float = 5.0,
        concurrency: int = 8,
    ) -> None:
        self.store = store
        self.secret = secret
        self.base, self.cap, self.max_attempts, self.timeout = base, cap, max_attempts, timeout
        self.queue: asyncio.Queue[gw.Alert] = asyncio.Queue()
        self.inflight: set[str] = set()
        self.sem = asyncio.Semaphore(concurrency)
        self.tasks: set[asyncio.Task] = set()
        self.delivered = 0
        self.failed = 0
        self._runner: asyncio.Task | None = None
        self._session: Any = None

    async def start(self) -> Deliverer:
        import aiohttp

        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        for alert in await gw.pending_alerts(self.store):
            self.enqueue(alert)
        self._runner = asyncio.create_task(self._run())
        return self

    def enqueue(self, alert: gw.Alert) -> None:
        if alert.id not in self.inflight:
            self.inflight.add(alert.id)
            self.queue.put_nowait(alert)

    async def _run(self) -> None:
        while True:
            alert = await self.queue.get()
            task = asyncio.create_task(self._deliver(alert))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _deliver(self, alert: gw.Alert) -> None:
        body = json.dumps(alert.payload(), sort_keys=True, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Aidrop-Alert-Id": alert.id}
        if self.secret:
            headers["X-Aidrop-Signature"] = sign(self.secret, body)
        attempts = alert.attempts
        try:
            while attempts < self.max_attempts:
                attempts += 1
                error = None
                try:
                    async with self.sem, self._session.post(alert.webhook, data=body, headers=headers) as r:
                        if 200 <= r.status < 300:
                            await gw.set_status(self.store, alert.id, "delivered", attempts, time.time())
                            self.delivered += 1
                            return
                        error = f"HTTP {r.status}"
                except Exception as exc:  # refused, reset, timeout: the receiver is away
                    error = f"{type(exc).__name__}: {exc}"[:200]
                with contextlib.suppress(Exception):
                    await gw.set_status(self.store, alert.id, "pending", attempts, None, error)
                await asyncio.sleep(min(self.cap, self.base * 2 ** (attempts - 1)))
            await gw.set_status(self.store, alert.id, "failed", attempts, None, "retries exhausted")
            self.failed += 1
        finally:
            self.inflight.discard(alert.id)

    async def drain(self, timeout: float) -> int:
        """Wait up to `timeout` s for the queued deliveries; how many are still pending."""
        deadline = time.monotonic() + timeout
        while (self.inflight or not self.queue.empty()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return len(self.inflight)

    async def close(self) -> None:
        for task in [self._runner, *self.tasks]:
            if task is not None:
                task.cancel()
        for task in [self._runner, *self.tasks]:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._session is not None:
            await self._session.close()


async def attach(store: GraphStore, secret: str, deliver: bool = True) -> tuple[Monitor, Deliverer | None]:
    """A monitor on the store's ingestion (GraphStore.transfers_added) with its deliverer."""
    deliverer = await Deliverer(store, secret).start() if deliver else None
    monitor = Monitor(store, deliverer)
    store.transfer_hooks.append(monitor)
    return monitor, deliverer


@contextlib.asynccontextmanager
async def watching(store: GraphStore, secret: str, grace: float = 3.0) -> Any:
    """Watches evaluated on everything ingested inside the block; at its end the deliveries get
    `grace` seconds to finish (the rest stay pending for the next run or `aidrop alerts deliver`)."""
    monitor, deliverer = await attach(store, secret)
    try:
        yield monitor
    finally:
        store.transfer_hooks.remove(monitor)
        if deliverer is not None:
            with contextlib.suppress(Exception):
                await deliverer.drain(grace)
            await deliverer.close()
