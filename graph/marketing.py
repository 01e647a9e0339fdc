"""Segments, campaigns and snapshots in the graph (docs/marketing.md).

    (:Segment {id, name, definition, created_at, size})-[:INCLUDES]->(:Wallet)
    (:Campaign {id, ...})-[:TARGETS {group}]->(:Wallet)      group: treatment | control
    (:Campaign)-[:FROM_SEGMENT]->(:Segment)
    (:Campaign)-[:HAS_SNAPSHOT]->(:Snapshot {campaign_id, name, at, status, ...})
    (:Snapshot)-[:MEASURED {tx, volume, counterparties, goal_tx, first_goal}]->(:Wallet)

A `SegmentFilter` is evaluated in the database by one of the fixed statements of
graph/cypher.py (`SEGMENT_QUERIES`), every value a parameter. The statistics and the report are
in ml/marketing/; this module only reads and writes the graph.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from core.address import normalize_address
from core.chains import check_chain_id
from core.errors import AidropError, NotFound
from graph import cypher as q
from graph.activity import DAY, activity_status, refresh_activity
from graph.model import CATEGORIES, NATIVE_TOKEN
from graph.store import GraphStore

AXIS = re.compile(r"[A-Za-z]+|\*")
ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
GROUPS = ("treatment", "control")
BATCH = 2000  # addresses per measuring or writing statement
STALE_CLAIM = 600  # seconds after which a pending snapshot is taken over
# Segments leave out wallets with 5% or more of their value from or to risky categories: the share
# above which compliance programmes commonly review indirect exposure; risky wallets have 1.
EXPOSURE_LIMIT = 0.05


class MarketingError(AidropError, ValueError):
    code = "MARKETING"


class Conflict(MarketingError):
    """The id is taken, or a snapshot is being taken by someone else."""

    code = "CONFLICT"


def check_id(text: str) -> str:
    if not ID.fullmatch(text):
        raise MarketingError(
            f"invalid id {text!r}: lowercase letters, digits, '.', '_' and '-', at most 64, "
            "starting with a letter or digit"
        )
    return text


def slug(text: str) -> str:
    """An id from a name: 'DeFi holders, Q3' -> 'defi-holders-q3'."""
    s = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")[:64]
    return s or uuid.uuid4().hex[:12]


def parse_typology(pattern: str) -> list[str]:
    """'D-*-A-*' -> ['D', '*', 'A', '*']; each axis a code letter(s) or '*'."""
    parts = pattern.strip().split("-")
    if not pattern.strip() or not all(AXIS.fullmatch(p) for p in parts):
        raise MarketingError(f"invalid typology pattern {pattern!r}: axes such as D-T-A-C, '*' for any")
    return [p if p == "*" else p.upper() for p in parts]


def typology_matches(pattern: str, code: str | None) -> bool:
    """The same test the database makes (for Python callers and tests of the builder)."""
    if not code:
        return False
    p, c = parse_typology(pattern), code.split("-")
    return len(p) == len(c) and all(a == "*" or a == b for a, b in zip(p, c, strict=True))


@dataclass(frozen=True)
class SegmentFilter:
    """Which wallets a segment holds. Empty fields test nothing; the tests combine with AND.

    `typologies` are patterns (any may match), `active_since` opens the activity window (at
    least one transfer either way at or after it); `categories` (a contract of one of them
    dealt with) count transfers in that window, `min_volume` (native value sent and received)
    the whole UTC days from the day of `active_since`; all of them without a window. Activity
    comes from the wallets' activity summary (graph/activity.py). Contracts and tokens are
    never members; wallets flagged by the anomaly model only with `include_flagged`; wallets
    exposed to risky categories (graph/exposure.py: risky themselves, or a share of value from or to
    them at `max_exposure` or above, default EXPOSURE_LIMIT) only with `include_exposed`; members
    of sybil clusters (graph/sybil.py) only with `include_sybil`."""

    typologies: tuple[str, ...] = ()
    clusters: tuple[int, ...] = ()
    min_anomaly: float | None = None
    max_anomaly: float | None = None
    active_since: int | None = None
    min_volume: float | None = None
    categories: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    include_flagged: bool = False
    include_sybil: bool = False
    include_exposed: bool = False
    max_exposure: float | None = None
    chain: int | None = None  # wallets with transfers on this chain (from the activity summary)
    min_churn_risk: float | None = None  # growth (issue 17): dormancy risk at least this
    min_propensity: tuple[tuple[str, float], ...] = ()  # (category, at least) pairs

    def __post_init__(self) -> None:
        for p in self.typologies:
            parse_typology(p)
        if (
            self.min_anomaly is not None
            and self.max_anomaly is not None
            and self.min_anomaly > self.max_anomaly
        ):
            raise MarketingError("min_anomaly is above max_anomaly")
        if self.min_volume is not None and self.min_volume < 0:
            raise MarketingError("min_volume must be at least 0")
        for category, value in self.min_propensity:
            if category not in CATEGORIES:
                known = ", ".join(CATEGORIES)
                raise MarketingError(f"min_propensity: unknown category {category!r} ({known})")
            if not 0.0 <= float(value) <= 1.0:
                raise MarketingError("min_propensity values are probabilities between 0 and 1")
        if self.min_churn_risk is not None and not 0.0 <= self.min_churn_risk <= 1.0:
            raise MarketingError("min_churn_risk is a probability between 0 and 1")

    @property
    def reads_transfers(self) -> bool:
        return self.active_since is not None or self.min_volume is not None or bool(self.categories)

    @property
    def needs_summary(self) -> bool:
        """Whether the wallets' activity summary must be fresh (activity tests, chains)."""
        return self.reads_transfers or self.chain is not None

    def params(self) -> dict[str, Any]:
        return {
            "addresses": [normalize_address(a) for a in self.addresses] if self.addresses else None,
            "typologies": [parse_typology(p) for p in self.typologies] or None,
            "clusters": [int(c) for c in self.clusters] or None,
            "min_anomaly": None if self.min_anomaly is None else float(self.min_anomaly),
            "max_anomaly": None if self.max_anomaly is None else float(self.max_anomaly),
            "include_flagged": bool(self.include_flagged),
            "include_sybil": bool(self.include_sybil),
            "max_exposure": None if self.include_exposed else float(self.max_exposure or EXPOSURE_LIMIT),
            "active": int(self.active_since) if self.active_since is not None else None,
            "since": int(self.active_since) if self.active_since is not None else -(2**62),
            "since_day": int(self.active_since) // DAY if self.active_since is not None else -(2**62),
            "min_volume": None if self.min_volume is None else float(self.min_volume),
            "categories": list(self.categories) or None,
            "chain": None if self.chain is None else check_chain_id(self.chain),
            "chains": [],  # set by evaluate(): the graph's chain when it has only one
            "min_churn": None if self.min_churn_risk is None else float(self.min_churn_risk),
            "min_propensity": self._propensity(),
        }

    def _propensity(self) -> list[float] | None:
        """Per category (CATEGORIES order) the lower bound, -1 where none."""
        if not self.min_propensity:
            return None
        bounds = dict(self.min_propensity)
        return [float(bounds.get(c, -1.0)) for c in CATEGORIES]

    def statement(self, tail: str) -> q.Statement:
        source = "list" if self.addresses else "scan"
        return q.SEGMENT_QUERIES[(source, self.reads_transfers, tail)]

    def to_dict(self) -> dict[str, Any]:
        """The definition as saved on a segment (JSON; empty fields left out)."""
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in asdict(self).items()
            if v not in (None, (), False)
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmentFilter:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise MarketingError(f"unknown segment filter fields: {', '.join(sorted(unknown))}")
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        if "min_propensity" in fields:
            fields["min_propensity"] = tuple((str(c), float(x)) for c, x in fields["min_propensity"])
        return cls(**fields)

    def merged(self, other: SegmentFilter) -> SegmentFilter:
        """Both filters at once (a predefined segment narrowed by more tests)."""

        def pick(a: Any, b: Any) -> Any:
            return b if b not in (None, ()) else a

        typ = self.typologies
        if self.typologies and other.typologies:
            raise MarketingError("typology patterns given twice; the segment already fixes them")
        return SegmentFilter(
            typologies=typ or other.typologies,
            clusters=pick(self.clusters, other.clusters),
            min_anomaly=max(
                (v for v in (self.min_anomaly, other.min_anomaly) if v is not None), default=None
            ),
            max_anomaly=min(
                (v for v in (self.max_anomaly, other.max_anomaly) if v is not None), default=None
            ),
            active_since=max(
                (v for v in (self.active_since, other.active_since) if v is not None), default=None
            ),
            min_volume=max((v for v in (self.min_volume, other.min_volume) if v is not None), default=None),
            categories=pick(self.categories, other.categories),
            addresses=pick(self.addresses, other.addresses),
            include_flagged=self.include_flagged or other.include_flagged,
            include_sybil=self.include_sybil or other.include_sybil,
            include_exposed=self.include_exposed or other.include_exposed,
            max_exposure=min(
                (v for v in (self.max_exposure, other.max_exposure) if v is not None), default=None
            ),
            chain=pick(self.chain, other.chain),
            min_churn_risk=max(
                (v for v in (self.min_churn_risk, other.min_churn_risk) if v is not None), default=None
            ),
            min_propensity=tuple({**dict(self.min_propensity), **dict(other.min_propensity)}.items()),
        )


class Member(NamedTuple):  # a tuple: segments of 100k members are built in a blink
    address: str
    typology: str | None = None
    cluster: int | None = None
    anomaly_score: float | None = None
    flagged: bool = False
    volume: float | None = None  # native value in the activity window, when the filter read it


@dataclass
class Segment:
    id: str
    name: str
    definition: dict[str, Any]
    created_at: int
    size: int
    typology_counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_props(cls, props: dict[str, Any]) -> Segment:
        return cls(
            id=props["id"],
            name=props.get("name") or props["id"],
            definition=json.loads(props.get("definition") or "{}"),
            created_at=int(props.get("created_at") or 0),
            size=int(props.get("size") or 0),
            typology_counts=json.loads(props.get("typology_counts") or "{}"),
        )


def _member(row: Sequence[Any]) -> Member:
    """A member from a row in SEGMENT_ROW order."""
    address, typology, cluster, score, flagged, volume = row
    return Member(
        address,
        typology,
        cluster,
        None if score is None else float(score),
        bool(flagged),
        None if volume is None else float(volume),
    )


# ---- segments -------------------------------------------------------------------------------
async def _summary_ready(store: GraphStore, where: SegmentFilter) -> dict[str, Any]:
    """The filter's parameters. Activity and chain filters need the activity summary: written
    now if the graph never had one. In a graph of one chain every wallet is on it."""
    if where.needs_summary and (await activity_status(store)).refreshed_at is None:
        await refresh_activity(store)
    params = where.params()
    if where.chain is not None:
        chains = await store.chains()
        params["chains"] = chains if len(chains) == 1 else []
    return params


async def evaluate(store: GraphStore, where: SegmentFilter) -> list[Member]:
    """The wallets of a filter, by address."""
    params = await _summary_ready(store, where)
    rows = await store.query(where.statement("rows"), params)
    if rows and "rows" in rows[0]:  # FalkorDB: one JSON list (graph/cypher.py)
        return [_member(r) for r in json.loads(rows[0]["rows"])]
    return [_member([r[k] for k in q.SEGMENT_ROW]) for r in rows]


async def typology_counts(store: GraphStore, where: SegmentFilter) -> dict[str, int]:
    """How many wallets of the filter per typology code (None: no typology), largest first."""
    params = await _summary_ready(store, where)
    rows = await store.query(where.statement("counts"), params)
    return {r["typology"]: int(r["wallets"]) for r in rows}


async def save_segment(
    store: GraphStore, segment_id: str, name: str, where: SegmentFilter, created_at: int,
    definition: dict[str, Any] | None = None,
) -> tuple[Segment, list[Member]]:  # fmt: skip
    """Evaluate and save: the node with its definition and time, one INCLUDES per member.
    Saving an id again replaces its definition and members."""
    check_id(segment_id)
    members = await evaluate(store, where)
    counts: dict[str, int] = {}
    for m in members:
        key = m.typology or ""
        counts[key] = counts.get(key, 0) + 1
    props = {
        "name": name,
        "definition": json.dumps(definition or where.to_dict(), sort_keys=True),
        "created_at": int(created_at),
        "size": len(members),
        "typology_counts": json.dumps(dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))),
    }
    await store.execute(q.SAVE_SEGMENT, {"id": segment_id, "props": props})
    await store.execute(q.CLEAR_SEGMENT_MEMBERS, {"id": segment_id})
    addresses = [m.address for m in members]
    for i in range(0, len(addresses), BATCH):
        await store.execute(q.ADD_SEGMENT_MEMBERS, {"id": segment_id, "addresses": addresses[i : i + BATCH]})
    return Segment.from_props({"id": segment_id, **props}), members


async def segments(store: GraphStore) -> list[Segment]:
    return [Segment.from_props(r["segment"]) for r in await store.query(q.SEGMENTS)]


async def segment(store: GraphStore, segment_id: str) -> Segment:
    rows = await store.query(q.SEGMENT, {"id": segment_id})
    if not rows:
        raise NotFound(f"no segment {segment_id!r}")
    return Segment.from_props(rows[0]["segment"])


async def segment_members(store: GraphStore, segment_id: str) -> list[Member]:
    await segment(store, segment_id)
    rows = await store.query(q.SEGMENT_MEMBERS, {"id": segment_id})
    return [_member([r[k] for k in q.SEGMENT_ROW]) for r in rows]


async def delete_segment(store: GraphStore, segment_id: str) -> None:
    await store.execute(q.DELETE_SEGMENT, {"id": segment_id})


# ---- campaigns ------------------------------------------------------------------------------
JSON_FIELDS = ("goal_contracts", "goal_categories")


async def create_campaign(
    store: GraphStore, campaign_id: str, props: dict[str, Any], targets: Sequence[tuple[str, str]],
    segment_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The campaign node, its link to the segment and one TARGETS {group} per target."""
    check_id(campaign_id)
    for _, group in targets:
        if group not in GROUPS:
            raise MarketingError(f"group must be treatment or control, not {group!r}")
    clean = {k: v for k, v in props.items() if v is not None}
    created = await store.execute(
        q.CREATE_CAMPAIGN, {"id": campaign_id, "props": {**clean, "id": campaign_id}}
    )
    if created.nodes_created == 0:
        raise Conflict(f"campaign {campaign_id!r} exists")
    if segment_id:
        await store.execute(q.LINK_CAMPAIGN_SEGMENT, {"id": campaign_id, "segment": segment_id})
    for i in range(0, len(targets), BATCH):
        chunk = targets[i : i + BATCH]
        await store.execute(
            q.ADD_CAMPAIGN_TARGETS,
            {"id": campaign_id, "addresses": [a for a, _ in chunk], "groups": [g for _, g in chunk]},
        )
    return await campaign(store, campaign_id)


async def campaigns(store: GraphStore) -> list[dict[str, Any]]:
    return [dict(r["campaign"]) for r in await store.query(q.CAMPAIGNS)]


async def campaign(store: GraphStore, campaign_id: str) -> dict[str, Any]:
    rows = await store.query(q.CAMPAIGN, {"id": campaign_id})
    if not rows:
        raise NotFound(f"no campaign {campaign_id!r}")
    return dict(rows[0]["campaign"])


async def set_campaign_report(store: GraphStore, campaign_id: str, key: str, at: int) -> None:
    await store.execute(q.SET_CAMPAIGN_REPORT, {"id": campaign_id, "key": key, "at": int(at)})


async def campaign_targets(store: GraphStore, campaign_id: str) -> list[dict[str, Any]]:
    """address, group, typology of every target, by address."""
    return await store.query(q.CAMPAIGN_TARGETS, {"id": campaign_id})


async def delete_campaign(store: GraphStore, campaign_id: str) -> None:
    await store.execute(q.DELETE_CAMPAIGN, {"id": campaign_id})


# ---- snapshots ------------------------------------------------------------------------------
async def claim_snapshot(
    store: GraphStore, campaign_id: str, name: str, at: int, now: int
) -> tuple[dict[str, Any], str | None]:
    """The snapshot node and our claim token when it is ours to measure (None: it exists)."""
    claim = uuid.uuid4().hex
    params = {"campaign": campaign_id, "name": name, "at": int(at), "claim": claim, "now": int(now)}
    await store.execute(q.CLAIM_SNAPSHOT, params)
    rows = await store.query(q.SNAPSHOT_BY_NAME, {"campaign": campaign_id, "name": name})
    if not rows:
        raise NotFound(f"no campaign {campaign_id!r}")
    snap = dict(rows[0]["snapshot"])
    if snap.get("claim") == claim:
        return snap, claim
    if snap.get("status") == "pending" and int(snap.get("claimed_at") or 0) < now - STALE_CLAIM:
        params["stale_before"] = int(now) - STALE_CLAIM
        await store.execute(q.RECLAIM_SNAPSHOT, params)
        rows = await store.query(q.SNAPSHOT_BY_NAME, {"campaign": campaign_id, "name": name})
        if rows and rows[0]["snapshot"].get("claim") == claim:
            return dict(rows[0]["snapshot"]), claim
    return snap, None


@dataclass(frozen=True)
class Goal:
    contracts: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


async def measure(
    store: GraphStore, addresses: Sequence[str], at: int, window: int, start: int, goal: Goal
) -> list[dict[str, Any]]:
    """Each address's activity up to `at`: transactions sent and native volume (sent and
    received) and distinct counterparties in (at - window, at]; goal interactions after `start`
    (their count and the first one's time)."""
    since = int(at) - int(window)
    base = {
        "at": int(at),
        "since": since,
        "lo": min(since, int(start)),
        "start": int(start),
        "goal_contracts": list(goal.contracts),
        "goal_categories": list(goal.categories),
        "native": NATIVE_TOKEN,
    }
    found: list[dict[str, Any]] = []
    for i in range(0, len(addresses), BATCH):
        chunk = list(addresses[i : i + BATCH])
        out = {r["address"]: r for r in await store.query(q.MEASURE_OUT, {**base, "addresses": chunk})}
        inn = {r["address"]: r for r in await store.query(q.MEASURE_IN, {**base, "addresses": chunk})}
        for a in chunk:
            o, n = out.get(a), inn.get(a)
            if o is None:  # not in the graph (a target whose wallet is gone): nothing measured
                continue
            parties = {x for x in (o["paid"] or []) if x} | {x for x in (n["payers"] if n else []) or [] if x}
            parties.discard(a)
            found.append(
                {
                    "address": a,
                    "tx": int(o["tx"] or 0),
                    "volume": float(o["sent"] or 0.0) + float((n or {}).get("received") or 0.0),
                    "counterparties": len(parties),
                    "goal_tx": int(o["goal_tx"] or 0),
                    "first_goal": o["first_goal"],
                }
            )
    return found


async def write_measures(
    store: GraphStore, campaign_id: str, name: str, claim: str, rows: Sequence[dict[str, Any]],
    props: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """The measured rows as MEASURED relationships, then the snapshot marked done with `props`."""
    key = {"campaign": campaign_id, "name": name, "claim": claim}
    cols = ("address", "tx", "volume", "counterparties", "goal_tx", "first_goal")
    for i in range(0, len(rows), BATCH):
        chunk = rows[i : i + BATCH]
        await store.execute(q.WRITE_MEASURES, {**key, **{c: [r[c] for r in chunk] for c in cols}})
    await store.execute(q.FINISH_SNAPSHOT, {**key, "props": props})
    return await snapshot(store, campaign_id, name)


async def snapshot(store: GraphStore, campaign_id: str, name: str) -> dict[str, Any]:
    rows = await store.query(q.SNAPSHOT_BY_NAME, {"campaign": campaign_id, "name": name})
    if not rows:
        raise NotFound(f"campaign {campaign_id!r} has no snapshot {name!r}")
    return dict(rows[0]["snapshot"])


async def snapshots(store: GraphStore, campaign_id: str) -> list[dict[str, Any]]:
    """Every snapshot of the campaign, oldest first."""
    return [dict(r["snapshot"]) for r in await store.query(q.SNAPSHOTS, {"campaign": campaign_id})]


async def snapshot_rows(store: GraphStore, campaign_id: str, name: str) -> list[dict[str, Any]]:
    return await store.query(q.SNAPSHOT_ROWS, {"campaign": campaign_id, "name": name})
