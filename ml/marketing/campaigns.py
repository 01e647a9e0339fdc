"""Campaigns: creation from a segment with a hashed holdout, snapshots (on demand and by the
monitor), and the metrics between two snapshots with their lift (docs/marketing.md)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from core.address import normalize_address
from graph import marketing as gm
from graph.marketing import GROUPS, Goal, MarketingError
from graph.model import CATEGORIES
from graph.store import GraphStore
from graph.sybil import clusters_of as sybil_clusters_of
from ml.marketing import segments as seg
from ml.marketing.stats import Lift, bootstrap_diff, two_proportions

DEFAULT_WINDOW = 7 * 86400
_REVERSED = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def holdout_position(address: str) -> float:
    """A wallet's place in [0, 1), stable across runs and campaigns: the sha256 digest of the
    lowercase address read as a binary fraction, each byte least significant bit first."""
    digest = hashlib.sha256(address.lower().encode()).digest()
    return int.from_bytes(digest[:8].translate(_REVERSED), "big") / 2**64


def group_of(address: str, holdout: float) -> str:
    """'control' for the wallets whose position is in the top `holdout` share of [0, 1).

    With a holdout of 0.5 the control is the wallets whose digest's first byte is odd: the split
    of the synthetic generator (ingest.synth.in_treatment), so that its simulated campaigns can
    be measured as they were run. A larger holdout only moves wallets from treatment to control."""
    return "control" if holdout_position(address) >= 1.0 - holdout else "treatment"


def _now() -> int:
    return int(time.time())


async def create(
    store: GraphStore,
    name: str,
    segment: str,
    *,
    goal_contracts: Sequence[str] = (),
    goal_categories: Sequence[str] = (),
    start: int | None = None,
    end: int | None = None,
    holdout: float = 0.5,
    cost: float | None = None,
    window: int = DEFAULT_WINDOW,
    campaign_id: str | None = None,
    extra: gm.SegmentFilter | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """A campaign over the members of `segment` (saved id or predefined name; a predefined one is
    saved first as `<campaign id>-segment`, with `extra` tests). Its targets are split into
    treatment and control by `group_of`."""
    now = _now() if now is None else int(now)
    campaign_id = gm.check_id(campaign_id or gm.slug(name))
    if not 0.0 < holdout < 1.0:
        raise MarketingError("holdout must be between 0 and 1 (the control's share)")
    if not goal_contracts and not goal_categories:
        raise MarketingError("a campaign needs a goal: contracts or categories whose use is a conversion")
    if window <= 0:
        raise MarketingError("window must be positive")
    if cost is not None and cost < 0:
        raise MarketingError("cost must be at least 0")
    start = now if start is None else int(start)
    if end is not None and end <= start:
        raise MarketingError("end must be after start")
    if segment in seg.PREDEFINED:
        saved, members = await seg.save(
            store, f"{name}: {segment}", seg.base_filter(segment).merged(extra or gm.SegmentFilter()), now,
            segment_id=f"{campaign_id[:56]}-segment",
        )  # fmt: skip
        segment_id = saved.id
    else:
        _, members = await seg.resolve(store, segment, extra)
        segment_id = segment
    if not members:
        raise MarketingError(f"segment {segment!r} holds no wallet")
    targets = [(m.address, group_of(m.address, holdout)) for m in members]
    props = {
        "name": name,
        "segment_id": segment_id,
        "goal_contracts": json.dumps(sorted({normalize_address(a) for a in goal_contracts})),
        "goal_categories": json.dumps(sorted(set(goal_categories))),
        "start": start,
        "end": end,
        "holdout": float(holdout),
        "cost": None if cost is None else float(cost),
        "window": int(window),
        "created_at": now,
        "targets": len(targets),
        "treatment": sum(g == "treatment" for _, g in targets),
        "control": sum(g == "control" for _, g in targets),
    }
    return decode(await gm.create_campaign(store, campaign_id, props, targets, segment_id))


def decode(props: dict[str, Any]) -> dict[str, Any]:
    """A campaign node's properties as Python values (goal lists out of their JSON text)."""
    out = dict(props)
    for key in gm.JSON_FIELDS:
        out[key] = json.loads(out.get(key) or "[]")
    return out


async def get(store: GraphStore, campaign_id: str) -> dict[str, Any]:
    return decode(await gm.campaign(store, campaign_id))


async def all_campaigns(store: GraphStore) -> list[dict[str, Any]]:
    return [decode(c) for c in await gm.campaigns(store)]


def _goal(campaign: dict[str, Any]) -> Goal:
    return Goal(tuple(campaign["goal_contracts"]), tuple(campaign["goal_categories"]))


def _snapshot(props: dict[str, Any]) -> dict[str, Any]:
    out = dict(props)
    out.pop("claim", None)
    out["summary"] = json.loads(out.get("summary") or "{}")
    return out


async def snapshot(
    store: GraphStore,
    campaign_id: str,
    name: str | None = None,
    at: int | None = None,
    now: int | None = None,
) -> tuple[dict[str, Any], bool]:
    """Take the snapshot `name` of every target's activity at `at` (default now) unless the
    campaign has it already. Returns the snapshot and whether this call took it."""
    now = _now() if now is None else int(now)
    at = now if at is None else int(at)
    name = name or datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    campaign = await get(store, campaign_id)
    node, claim = await gm.claim_snapshot(store, campaign_id, name, at, now)
    if claim is None:
        if node.get("status") != "done":
            raise gm.Conflict(f"snapshot {name!r} of {campaign_id!r} is being taken")
        return _snapshot(node), False
    at = int(node["at"])
    targets = await gm.campaign_targets(store, campaign_id)
    rows = await gm.measure(
        store,
        [t["address"] for t in targets],
        at,
        int(campaign["window"]),
        int(campaign["start"]),
        _goal(campaign),
    )
    group = {t["address"]: t["group"] for t in targets}
    summary = {
        g: {"targets": 0, "active": 0, "converted": 0, "volume": 0.0, "tx": 0} for g in GROUPS
    }  # converted: a goal interaction after the start, up to `at`
    for r in rows:
        s = summary[group[r["address"]]]
        s["targets"] += 1
        s["active"] += r["tx"] > 0
        s["converted"] += r["first_goal"] is not None
        s["volume"] += r["volume"]
        s["tx"] += r["tx"]
    props = {"taken_at": _now(), "window": int(campaign["window"]), "targets": len(rows),
             "summary": json.dumps(summary, sort_keys=True)}  # fmt: skip
    return _snapshot(await gm.write_measures(store, campaign_id, name, claim, rows, props)), True


def interval_name(now: int, interval: int) -> str:
    """The monitor's snapshot name for the interval holding `now` ('auto-2024-01-15T00:00Z')."""
    start = now - now % interval
    return "auto-" + datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%MZ")


async def monitor(
    store: GraphStore,
    campaign_ids: Sequence[str] | None = None,
    interval: int = 86400,
    now: int | None = None,
) -> list[dict[str, Any]]:
    """One snapshot per campaign per interval: each run names its snapshot after the interval
    it falls in, so a second run in the same interval finds it taken. Without ids: every
    campaign that has started and has not ended more than an interval ago."""
    now = _now() if now is None else int(now)
    if campaign_ids:
        chosen = [await get(store, c) for c in campaign_ids]
    else:
        chosen = [
            c for c in await all_campaigns(store)
            if int(c["start"]) <= now and (c.get("end") is None or now <= int(c["end"]) + interval)
        ]  # fmt: skip
    results = []
    for c in chosen:
        at = now if c.get("end") is None else min(now, int(c["end"]))
        snap, taken = await snapshot(store, c["id"], interval_name(now, interval), at=at, now=now)
        results.append({"campaign": c["id"], "snapshot": snap["name"], "at": snap["at"], "taken": taken})
    return results


async def snapshots(store: GraphStore, campaign_id: str) -> list[dict[str, Any]]:
    await gm.campaign(store, campaign_id)
    return [_snapshot(s) for s in await gm.snapshots(store, campaign_id) if s.get("status") == "done"]


def _pick(snaps: list[dict[str, Any]], name: str | None, default: int) -> dict[str, Any]:
    if name is None:
        return snaps[default]
    for s in snaps:
        if s["name"] == name:
            return s
    raise gm.NotFound(f"no snapshot {name!r}")


async def load(
    store: GraphStore, campaign_id: str, before: str | None = None, after: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """The campaign, its snapshots, the two compared (default: the first and the last) and one
    row per target measured in the later one (group, typology, converted, engaged, ...)."""
    campaign = await get(store, campaign_id)
    snaps = await snapshots(store, campaign_id)
    if not snaps:
        raise MarketingError(f"campaign {campaign_id!r} has no snapshot yet")
    a, b = _pick(snaps, before, 0), _pick(snaps, after, -1)
    if a["at"] > b["at"]:
        raise MarketingError(f"snapshot {a['name']!r} is after {b['name']!r}")
    targets = await gm.campaign_targets(store, campaign_id)
    entity = await sybil_clusters_of(store, [t["address"] for t in targets])
    rows_a = {r["address"]: r for r in await gm.snapshot_rows(store, campaign_id, a["name"])}
    rows_b = {r["address"]: r for r in await gm.snapshot_rows(store, campaign_id, b["name"])}
    wallets = []
    for t in targets:
        rb = rows_b.get(t["address"])
        if rb is None:
            continue
        ra = rows_a.get(t["address"]) or {"tx": 0, "volume": 0.0, "first_goal": None}
        first = rb["first_goal"]
        wallets.append(
            {
                "address": t["address"],
                "group": t["group"],
                "typology": t["typology"],
                "converted": first is not None and (a is b or int(first) > int(a["at"])),
                "engaged": rb["tx"] > 0,
                "active_before": ra["tx"] > 0,
                "volume_before": float(ra["volume"] or 0.0),
                "volume_after": float(rb["volume"] or 0.0),
                "first_goal": first,
                "entity": entity.get(t["address"], t["address"]),  # a sybil cluster counts once
                "propensity": t.get("propensity"),  # predicted when the campaign took its targets
            }
        )
    return campaign, snaps, a, b, wallets


async def metrics(
    store: GraphStore,
    campaign_id: str,
    before: str | None = None,
    after: str | None = None,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Treatment against control between two snapshots (default: the first and the last).

    - conversion: a first goal interaction after the campaign start, between the two snapshots;
    - engagement: sent at least one transaction in the later snapshot's window;
    - retention: of those active in the earlier snapshot's window, active in the later one's;
    - volume change: native volume in the later window less the earlier, per wallet (mean).
    Rates are compared with Newcombe's interval, the volume change by bootstrap."""
    campaign, _, a, b, wallets = await load(store, campaign_id, before, after)
    return compute(campaign, a, b, wallets, confidence, seed)


def compute(
    campaign: dict[str, Any], a: dict[str, Any], b: dict[str, Any], wallets: list[dict[str, Any]],
    confidence: float = 0.95, seed: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """The metrics from per-wallet rows (`metrics` reads them from the graph)."""
    same = a["name"] == b["name"]
    groups: dict[str, dict[str, Any]] = {}
    arrays: dict[str, dict[str, np.ndarray]] = {}
    for g in GROUPS:
        ws = [w for w in wallets if w["group"] == g]
        conv = np.array([w["converted"] for w in ws], dtype=bool)
        eng = np.array([w["engaged"] for w in ws], dtype=bool)
        before = np.array([w["active_before"] for w in ws], dtype=bool)
        v0 = np.array([w["volume_before"] for w in ws], dtype=float)
        v1 = np.array([w["volume_after"] for w in ws], dtype=float)
        arrays[g] = {"conv": conv, "eng": eng, "before": before, "change": v1 - v0}
        n = len(ws)
        groups[g] = {
            "targets": n,
            "converted": int(conv.sum()),
            "conversion_rate": _rate(conv.sum(), n),
            "engaged": int(eng.sum()),
            "engagement_rate": _rate(eng.sum(), n),
            "active_before": int(before.sum()),
            "retained": int((before & eng).sum()),
            "retention_rate": _rate((before & eng).sum(), before.sum()),
            "volume_before": float(v0.mean()) if n else None,
            "volume_after": float(v1.mean()) if n else None,
            "volume_change": float((v1 - v0).mean()) if n else None,
        }
    t, c = arrays["treatment"], arrays["control"]
    lift: dict[str, Lift | None] = {
        "conversion": None,
        "engagement": None,
        "retention": None,
        "volume_change": None,
    }
    if len(t["conv"]) and len(c["conv"]):
        lift["conversion"] = two_proportions(int(t["conv"].sum()), len(t["conv"]), int(c["conv"].sum()),
                                             len(c["conv"]), confidence)  # fmt: skip
        lift["engagement"] = two_proportions(int(t["eng"].sum()), len(t["eng"]), int(c["eng"].sum()),
                                             len(c["eng"]), confidence)  # fmt: skip
        if not same:
            nt, nc = int(t["before"].sum()), int(c["before"].sum())
            if nt and nc:
                kept_t, kept_c = int((t["before"] & t["eng"]).sum()), int((c["before"] & c["eng"]).sum())
                lift["retention"] = two_proportions(kept_t, nt, kept_c, nc, confidence)
            lift["volume_change"] = bootstrap_diff(t["change"], c["change"], confidence, seed=seed)
    cost = campaign.get("cost")
    cost_info = None
    if cost is not None:
        conv_t = groups["treatment"]["converted"]
        conv_lift = lift["conversion"]
        incremental = conv_lift.diff * groups["treatment"]["targets"] if conv_lift else 0.0
        cost_info = {
            "total": float(cost),
            "per_converted": float(cost) / conv_t if conv_t else None,
            "incremental_conversions": incremental,
            "per_incremental": float(cost) / incremental if incremental > 0 else None,
        }
    return {
        "campaign": campaign["id"],
        "from": {"name": a["name"], "at": int(a["at"])},
        "to": {"name": b["name"], "at": int(b["at"])},
        "confidence": confidence,
        "groups": groups,
        "lift": {k: (v.to_dict() if v else None) for k, v in lift.items()},
        "cost": cost_info,
        "per_entity": per_entity(wallets, confidence),
    }


def per_entity(wallets: list[dict[str, Any]], confidence: float = 0.95) -> dict[str, Any]:
    """Conversion and engagement with every sybil cluster counted once per group (converted or
    engaged if any of its wallets is): what a campaign reached in people, not wallets."""
    groups: dict[str, dict[str, Any]] = {}
    for g in GROUPS:
        seen: dict[str, tuple[bool, bool]] = {}
        for w in wallets:
            if w["group"] == g:
                key = w.get("entity", w["address"])
                conv, eng = seen.get(key, (False, False))
                seen[key] = (conv or bool(w["converted"]), eng or bool(w["engaged"]))
        n = len(seen)
        converted = sum(c for c, _ in seen.values())
        engaged = sum(e for _, e in seen.values())
        groups[g] = {"entities": n, "converted": converted, "conversion_rate": _rate(converted, n),
                     "engaged": engaged, "engagement_rate": _rate(engaged, n)}  # fmt: skip
    t, c = groups["treatment"], groups["control"]
    lift: dict[str, Lift | None] = {"conversion": None, "engagement": None}
    if t["entities"] and c["entities"]:
        for key in ("conversion", "engagement"):
            done = "converted" if key == "conversion" else "engaged"
            lift[key] = two_proportions(t[done], t["entities"], c[done], c["entities"], confidence)
    return {"groups": groups, "lift": {k: (v.to_dict() if v else None) for k, v in lift.items()}}


async def goal_category(store: GraphStore, campaign: dict[str, Any]) -> str | None:
    """The category whose first use the campaign's goal is: its goal category, or the category
    its goal contracts have (the first one that has one)."""
    for category in campaign["goal_categories"]:
        if category in CATEGORIES:
            return str(category)
    for address in campaign["goal_contracts"]:
        wallet = await store.wallet(address)
        if wallet is not None and wallet.category in CATEGORIES:
            return str(wallet.category)
    return None


def propensity_lift(
    wallets: list[dict[str, Any]], category: str | None, confidence: float = 0.95, bins: int = 10
) -> dict[str, Any] | None:
    """Conversion per group and lift in each decile of the first-use propensity for `category`
    that aidrop predicted when the campaign took its targets (decile 1: the most likely). Targets
    without a prediction (not scored, or already users of the category) are left out."""
    if category not in CATEGORIES:
        return None
    k = CATEGORIES.index(category)
    scored = [
        (w, float(p[k]))
        for w in wallets
        if (p := w.get("propensity")) and len(p) > k and p[k] is not None and p[k] >= 0
    ]
    if not scored:
        return None
    scored.sort(key=lambda wp: -wp[1])
    rows = []
    for i, part in enumerate(np.array_split(np.arange(len(scored)), min(bins, len(scored))), start=1):
        chosen = [scored[j] for j in part]
        row: dict[str, Any] = {"decile": i, "min": chosen[-1][1], "max": chosen[0][1]}
        counts = {}
        for g in GROUPS:
            ws = [w for w, _ in chosen if w["group"] == g]
            counts[g] = (sum(bool(w["converted"]) for w in ws), len(ws))
            row[f"{g}_targets"], row[f"{g}_converted"] = len(ws), counts[g][0]
            row[f"{g}_rate"] = _rate(counts[g][0], len(ws))
        (ct, nt), (cc, nc) = counts["treatment"], counts["control"]
        row["lift"] = two_proportions(ct, nt, cc, nc, confidence).to_dict() if nt and nc else None
        rows.append(row)
    return {
        "category": category,
        "scored": len(scored),
        "unscored": len(wallets) - len(scored),
        "deciles": rows,
    }


def _rate(x: Any, n: Any) -> float | None:
    return float(x) / float(n) if n else None


def typology_table(wallets: list[dict[str, Any]], top: int = 10) -> list[dict[str, Any]]:
    """Conversion per typology code and group, the codes with most treatment conversions first."""
    table: dict[str, dict[str, list[int]]] = {}
    for w in wallets:
        entry = table.setdefault(w["typology"] or "unknown", {g: [0, 0] for g in GROUPS})
        entry[w["group"]][0] += 1
        entry[w["group"]][1] += bool(w["converted"])
    rows: list[dict[str, Any]] = []
    for code, e in table.items():
        (nt, ct), (nc, cc) = e["treatment"], e["control"]
        rows.append({"typology": code, "treatment_targets": nt, "treatment_converted": ct,
                     "treatment_rate": _rate(ct, nt), "control_targets": nc, "control_converted": cc,
                     "control_rate": _rate(cc, nc)})  # fmt: skip
    rows.sort(key=lambda r: (-r["treatment_converted"], -(r["treatment_rate"] or 0), r["typology"]))
    return rows[:top]
