"""The small files: contracts.csv and tokens.csv (ethereum-etl columns, plus name and category
for contracts), labels.csv (the truth about each wallet), laundering.csv and campaign.csv."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ingest.synth import clock
from ingest.synth.campaign import Campaign
from ingest.synth.catalog import ERC20, ERC721, ERC1155, EXCHANGE, Catalog
from ingest.synth.laundering import Laundering
from ingest.synth.population import COMMUNITY, FOCUS, PATTERN, PERSONAS, RISK, SEGMENTS, Population
from ingest.synth.sybil import Sybil
from ingest.synth.writer import partial

CONTRACTS = ("address", "bytecode", "function_sighashes", "is_erc20", "is_erc721", "block_number", "name",
             "category")  # fmt: skip
TOKENS = ("address", "symbol", "name", "decimals", "total_supply", "block_number")
LABELS = ("address", "persona", "focus", "pattern", "risk", "community", "typology", "segment",
          "laundering_id", "laundering_type", "laundering_role", "sybil_cluster",
          "sybil_lookalike")  # fmt: skip
PATTERNS = ("laundering_id", "laundering_type", "size", "start", "end", "asset", "amount", "members")
CAMPAIGN = ("address", "group", "converted", "converted_at")

_SIGHASHES = {
    ERC20: "0x06fdde03,0x095ea7b3,0x18160ddd,0x23b872dd,0x313ce567,0x70a08231,0x95d89b41,0xa9059cbb",
    ERC721: "0x01ffc9a7,0x06fdde03,0x081812fc,0x095ea7b3,0x23b872dd,0x42842e0e,0x6352211e,0x70a08231",
    ERC1155: "0x00fdd58e,0x01ffc9a7,0x0e89341c,0x2eb2c2d6,0x4e1273f4,0xa22cb465,0xe985e9c5,0xf242432a",
}


def _open(path: Path, header: tuple[str, ...]) -> tuple[TextIO, Any]:  # Any: csv's writer type is private
    fh = partial(path).open("w", newline="")
    out = csv.writer(fh, lineterminator="\n")
    out.writerow(header)
    return fh, out


def write_catalog(out: Path, catalog: Catalog, addresses: list[str], t0: int) -> tuple[int, int]:
    """contracts.csv and tokens.csv; returns their row counts. Exchange wallets are listed as
    contracts of category Exchange (the graph's label for them)."""
    contracts = tokens = 0
    fh_c, c = _open(out / "contracts.csv", CONTRACTS)
    fh_t, t = _open(out / "tokens.csv", TOKENS)
    for i, e in enumerate(catalog.entries, start=1):
        address = addresses[i]
        block = int(clock.block_of(np.array([t0 + int(e.created_day * 86400)]), t0)[0])
        code = "0x" if e.kind == EXCHANGE else "0x6080604052" + address[2:10] * 6
        c.writerow((address, code, _SIGHASHES.get(e.kind, ""), e.kind == ERC20, e.kind == ERC721, block,
                    e.name, e.category))  # fmt: skip
        contracts += 1
        if e.kind in (ERC20, ERC721, ERC1155):
            decimals = "" if e.decimals is None else e.decimals
            supply = e.supply * 10 ** (e.decimals or 0)
            t.writerow((address, e.symbol, e.name, decimals, supply, block))
            tokens += 1
    fh_c.close()
    fh_t.close()
    return contracts, tokens


def write_labels(out: Path, pop: Population, addresses: list[str], laundering: Laundering,
                 sybil: Sybil | None = None) -> int:  # fmt: skip
    pattern_of: dict[int, tuple[str, str, str]] = {}
    for p in laundering.patterns:
        for w, role in zip(p.members, p.roles, strict=True):
            pattern_of[w] = (p.id, p.type, role)
    typology = pop.typology()
    farm_of = sybil.cluster_of() if sybil else {}
    lookalike = sybil.lookalike if sybil else {}
    fh, out_ = _open(out / "labels.csv", LABELS)
    for w in range(len(pop)):
        axes = FOCUS[pop.focus[w]], PATTERN[pop.pattern[w]], RISK[pop.risk[w]], COMMUNITY[pop.community[w]]
        out_.writerow((addresses[w], PERSONAS[pop.persona[w]].name, *axes, typology[w],
                       SEGMENTS[pop.segment[w]], *pattern_of.get(w, ("", "", "")), farm_of.get(w, ""),
                       lookalike.get(w, "")))  # fmt: skip
    fh.close()
    return len(pop)


def write_patterns(out: Path, laundering: Laundering, addresses: list[str]) -> int:
    fh, w = _open(out / "laundering.csv", PATTERNS)
    for p in laundering.patterns:
        members = " ".join(addresses[m] for m in p.members)
        w.writerow((p.id, p.type, len(p.members), p.start, p.end, p.asset, f"{p.amount:.6f}", members))
    fh.close()
    return len(laundering.patterns)


def write_campaign(out: Path, campaign: Campaign, addresses: list[str]) -> int:
    fh, w = _open(out / "campaign.csv", CAMPAIGN)
    for target, treated, converted, at in zip(campaign.targets.tolist(), campaign.treatment.tolist(),
                                              campaign.converted.tolist(), campaign.converted_at.tolist(),
                                              strict=True):  # fmt: skip
        w.writerow((addresses[target], "treatment" if treated else "control", int(converted),
                    at if converted else ""))  # fmt: skip
    fh.close()
    return len(campaign.targets)


def write_farms(out: Path, sybil: Sybil, addresses: list[str]) -> int:
    """farms.csv: each farm's id, size, skill (0-2), funding and sweep style, and members."""
    fh, w = _open(out / "farms.csv", ("sybil_cluster", "size", "skill", "funding", "sweep", "members"))
    for f in sybil.farms:
        members = " ".join(addresses[m] for m in f.members)
        w.writerow((f.id, len(f.members), f.skill, f.funding, f.sweep, members))
    fh.close()
    return len(sybil.farms)
