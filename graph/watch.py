"""Watchlists and alerts in the graph (statements in graph/cypher.py; rules and delivery in
ingest/alerts.py).

A `:Watch` holds one address, its rules (rule texts, see ingest/alerts.py), an optional webhook
and the state its change rules compare with; its id is derived from (address, webhook), so
adding the same watch again updates its rules. An `:Alert` is stored once per event (its id is
derived from the watch, the rule and what triggered it), with `seq` (creation order, nanoseconds)
and `status`: new (no webhook), pending, delivered, failed (retries exhausted), acknowledged.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.address import normalize_address
from core.errors import AidropError
from graph import cypher as q
from graph.store import GraphStore

STATUSES = ("new", "pending", "delivered", "failed", "acknowledged")
MAX_WATCHES_PER_CALL = 1000


class WatchError(AidropError, ValueError):
    code = "INVALID_WATCH"


@dataclass
class Watch:
    id: str
    address: str
    rules: list[str]
    webhook: str | None = None
    created_at: int = 0
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, props: dict[str, Any]) -> Watch:
        return cls(
            id=props["id"],
            address=props["address"],
            rules=json.loads(props.get("rules") or "[]"),
            webhook=props.get("webhook") or None,
            created_at=int(props.get("created_at") or 0),
            state=json.loads(props.get("state") or "{}"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "address": self.address,
            "rules": self.rules,
            "webhook": self.webhook,
            "created_at": self.created_at,
        }


@dataclass
class Alert:
    id: str
    seq: int
    watch: str
    address: str
    rule: str
    detail: dict[str, Any]
    created_at: float
    status: str
    webhook: str | None = None
    attempts: int = 0
    delivered_at: float | None = None
    last_error: str | None = None

    @classmethod
    def of(cls, props: dict[str, Any]) -> Alert:
        return cls(
            id=props["id"],
            seq=int(props["seq"]),
            watch=props.get("watch") or "",
            address=props["address"],
            rule=props["rule"],
            detail=json.loads(props.get("detail") or "{}"),
            created_at=float(props.get("created_at") or 0),
            status=props.get("status") or "new",
            webhook=props.get("webhook") or None,
            attempts=int(props.get("attempts") or 0),
            delivered_at=props.get("delivered_at"),
            last_error=props.get("last_error"),
        )

    def payload(self) -> dict[str, Any]:
        """What a webhook receives."""
        return {
            "id": self.id,
            "address": self.address,
            "rule": self.rule,
            "created_at": self.created_at,
            "detail": self.detail,
        }


def watch_id(address: str, webhook: str | None) -> str:
    return hashlib.sha256(f"{address}|{webhook or ''}".encode()).hexdigest()[:24]


def alert_id(watch: str, rule: str, event: str) -> str:
    return hashlib.sha256(f"{watch}|{rule}|{event}".encode()).hexdigest()[:32]


async def add_watches(
    store: GraphStore, addresses: Sequence[str], rules: Sequence[str], webhook: str | None = None
) -> list[Watch]:
    """Watch the addresses with these rules (already checked by ingest.alerts.parse_rules)."""
    if not addresses:
        raise WatchError("no address to watch")
    if len(addresses) > MAX_WATCHES_PER_CALL:
        raise WatchError(f"at most {MAX_WATCHES_PER_CALL} addresses at once, not {len(addresses)}")
    if webhook is not None and not webhook.startswith(("http://", "https://")):
        raise WatchError(f"a webhook is an http(s):// URL, not {webhook!r}")
    now = int(time.time())
    watches = [
        Watch(watch_id(a, webhook), a, list(rules), webhook, now)
        for a in dict.fromkeys(normalize_address(x) for x in addresses)
    ]
    rows = [
        {
            "id": w.id,
            "address": w.address,
            "rules": json.dumps(w.rules),
            "webhook": w.webhook,
            "created_at": w.created_at,
            "updated_at": time.time_ns(),  # running monitors read the watches again when it moves
        }
        for w in watches
    ]
    await store.execute(q.MERGE_WATCHES, {"rows": rows})
    note_change("watches")
    return watches


async def remove_watches(store: GraphStore, addresses: Iterable[str]) -> int:
    found = [normalize_address(a) for a in addresses]
    before = len(await watches(store))
    await store.execute(q.DELETE_WATCHES, {"addresses": found})
    note_change("watches")
    return before - len(await watches(store))


async def watches(store: GraphStore) -> list[Watch]:
    return [Watch.of(r["watch"]) for r in await store.query(q.WATCHES)]


# This process's writes of watches, labels and stored exposure: a monitor in the same process
# compares these instead of asking the graph at every batch (ingest/alerts.py Monitor).
_CHANGES = {"watches": 0, "labels": 0, "exposure": 0}


def note_change(kind: str) -> None:
    _CHANGES[kind] += 1


def local_changes() -> dict[str, int]:
    return dict(_CHANGES)


async def watch_version(store: GraphStore) -> tuple[int, int, int, int]:
    """(watches, newest watch change, labels, newest label write): moves when either changes."""
    rows = await store.query(q.WATCH_VERSION)
    if not rows:
        return (0, 0, 0, 0)
    r = rows[0]
    return (int(r["n"] or 0), int(r["newest"] or 0), int(r["labels"] or 0), int(r["labelled_at"] or 0))


async def monitor_view(store: GraphStore) -> dict[str, dict[str, Any]]:
    """Every wallet with labels or stored exposure: address -> {label_categories,
    exposure_categories} (a wallet absent has neither)."""
    return {
        r["address"]: {"label_categories": r["categories"], "exposure_categories": r["exposure"]}
        for r in await store.query(q.MONITOR_VIEW)
    }


async def store_alerts(
    store: GraphStore, alerts: Sequence[Alert], changed: Sequence[Watch] = ()
) -> list[Alert]:
    """Save the changed watches' states and store the alerts not stored yet, in one statement
    (per `write_batch` alerts); the new alerts, in order. A second read only when an evaluation
    raised some alerts again (a re-run block range) and some not."""
    unique = list({a.id: a for a in alerts}.values())
    if not unique and not changed:
        return []
    states = [{"id": w.id, "state": json.dumps(w.state, sort_keys=True)} for w in changed]
    cols: dict[str, list[Any]] = {k: [] for k in ("id", "seq", "watch", "address", "rule", "detail",
                                                   "created_at", "status", "webhook")}  # fmt: skip
    for a in unique:
        for key in cols:
            value = getattr(a, key)
            cols[key].append(json.dumps(value, sort_keys=True) if key == "detail" else value)
    created, batch = 0, store.write_batch
    for lo in range(0, max(len(unique), 1), batch):
        params = {k: v[lo : lo + batch] for k, v in cols.items()}
        params["states"] = states if lo == 0 else []
        created += (await store.execute(q.SAVE_ALERTS, params)).nodes_created
    if created == len(unique):
        return unique
    if created == 0:
        return []
    ours = {a.id: a.seq for a in unique}
    rows = await store.query(q.ALERTS_KNOWN, {"ids": list(ours)})
    mine = {r["id"] for r in rows if int(r["seq"] or 0) == ours[r["id"]]}
    return [a for a in unique if a.id in mine]


async def alerts_after(
    store: GraphStore, after: int, address: str | None = None, first: int = 100
) -> list[Alert]:
    rows = await store.query(q.ALERTS_AFTER, {"after": int(after), "address": address, "first": int(first)})
    return [Alert.of(r["alert"]) for r in rows]


async def alert_page(
    store: GraphStore,
    status: str | None = None,
    address: str | None = None,
    first: int = 50,
    before: int | None = None,
) -> list[Alert]:
    if status is not None and status not in STATUSES:
        raise WatchError(f"status is one of {', '.join(STATUSES)}, not {status!r}")
    params = {
        "status": status,
        "address": normalize_address(address) if address else None,
        "first": max(1, min(int(first), 1000)),
        "before": int(before) if before is not None else 2**62,
    }
    return [Alert.of(r["alert"]) for r in await store.query(q.ALERTS_PAGE, params)]


async def pending_alerts(store: GraphStore, first: int = 1000) -> list[Alert]:
    return [Alert.of(r["alert"]) for r in await store.query(q.PENDING_ALERTS, {"first": first})]


async def set_status(
    store: GraphStore,
    alert: str,
    status: str,
    attempts: int | None = None,
    delivered_at: float | None = None,
    last_error: str | None = None,
) -> None:
    if status not in STATUSES:
        raise WatchError(f"status is one of {', '.join(STATUSES)}, not {status!r}")
    await store.execute(
        q.SET_ALERT_STATUS,
        {
            "id": alert,
            "status": status,
            "attempts": attempts,
            "delivered_at": delivered_at,
            "last_error": last_error,
        },
    )
