"""Segments: the predefined ones, resolving a name to its members, previews and exports."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.errors import NotFound
from graph import marketing as gm
from graph.marketing import MarketingError, Member, SegmentFilter
from graph.store import GraphStore


@dataclass(frozen=True)
class Predefined:
    name: str
    description: str
    filter: SegmentFilter


# Typology codes are focus-pattern-risk-community (docs/ml.md): focus D DeFi, N NFT, G Gaming,
# S Social, U undefined; pattern T trading, H holding; risk A aggressive, S safe; community
# C community, I individual.
PREDEFINED = {
    p.name: p
    for p in (
        Predefined(
            "defi-holders", "DeFi wallets that hold (D-H-*-*)", SegmentFilter(typologies=("D-H-*-*",))
        ),
        Predefined(
            "nft-enthusiasts", "NFT-focused wallets (N-*-*-*)", SegmentFilter(typologies=("N-*-*-*",))
        ),
        Predefined(
            "community-users",
            "wallets in governance and DAOs (*-*-*-C)",
            SegmentFilter(typologies=("*-*-*-C",)),
        ),
        Predefined(
            "aggressive-traders",
            "trading wallets taking risks (*-T-A-*)",
            SegmentFilter(typologies=("*-T-A-*",)),
        ),
        Predefined("all", "every wallet (no typology test)", SegmentFilter()),
    )
}


def is_relative(text: str | int | None) -> bool:
    """A duration back from a reference time ('30d', '12h'), as parse_time reads it."""
    return isinstance(text, str) and re.fullmatch(r"\s*\d+(?:\.\d+)?[dhms]\s*", text) is not None


def parse_time(text: str | int | None, now: int | None = None) -> int | None:
    """A time: unix seconds, an ISO date or time (UTC unless it says otherwise), or a duration
    back from `now` ('30d', '12h', '90m')."""
    if text is None or text == "":
        return None
    if isinstance(text, int):
        return text
    text = str(text).strip()
    if text == "now":
        return int(time.time())
    if re.fullmatch(r"\d{9,11}", text):
        return int(text)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([dhms])", text)
    if m:
        if now is None:
            raise MarketingError(f"{text!r} is relative: give a reference time")
        seconds = {"d": 86400, "h": 3600, "m": 60, "s": 1}[m.group(2)]
        return int(now - float(m.group(1)) * seconds)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MarketingError(f"invalid time {text!r}: unix seconds, an ISO date or 30d/12h") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def parse_duration(text: str | int) -> int:
    """'1d', '6h', '30m', '3600' -> seconds."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhms]?)\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise MarketingError(f"invalid duration {text!r}: such as 1d, 6h, 30m or seconds")
    return int(float(m.group(1)) * {"d": 86400, "h": 3600, "m": 60, "s": 1, "": 1}[m.group(2)])


def base_filter(name: str) -> SegmentFilter:
    try:
        return PREDEFINED[name].filter
    except KeyError:
        raise NotFound(f"no predefined segment {name!r} (one of {', '.join(PREDEFINED)})") from None


async def resolve(
    store: GraphStore, name: str, extra: SegmentFilter | None = None
) -> tuple[str, list[Member]]:
    """Members of a predefined segment (narrowed by `extra`) or of a saved one (as saved).
    Returns where they came from ('predefined' or 'saved') and the members."""
    extra = extra or SegmentFilter()
    if name in PREDEFINED:
        return "predefined", await gm.evaluate(store, base_filter(name).merged(extra))
    members = await gm.segment_members(store, name)
    if extra != SegmentFilter():
        raise MarketingError(f"{name!r} is a saved segment: its members are fixed, filters do not apply")
    return "saved", members


async def preview(store: GraphStore, where: SegmentFilter) -> dict[str, Any]:
    """How many wallets the filter holds and how many per typology code (evaluated, not saved)."""
    counts = await gm.typology_counts(store, where)
    return {"size": sum(counts.values()), "typologies": counts}


async def save(
    store: GraphStore, name: str, where: SegmentFilter, now: int, segment_id: str | None = None
) -> tuple[gm.Segment, list[Member]]:
    return await gm.save_segment(store, segment_id or gm.slug(name), name, where, now)


COLUMNS = ("address", "typology", "cluster", "anomaly_score", "flagged", "volume")


def to_csv(members: list[Member]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for m in members:
        w.writerow(["" if v is None else v for v in (getattr(m, c) for c in COLUMNS)])
    return buf.getvalue()


def to_json(members: list[Member], meta: dict[str, Any] | None = None) -> str:
    return json.dumps(
        {**(meta or {}), "size": len(members), "wallets": [m._asdict() for m in members]}, indent=1
    )
