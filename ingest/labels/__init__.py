"""Contract labels: YAML files of `address, name, category, source` entries -> :Contract nodes.

A file is a list of entries (or a mapping with a `contracts:` list). Addresses in mixed case
must carry a valid EIP-55 checksum; categories are those of graph.model.CATEGORIES. When
several files name the same address, the last one wins. Labels are per chain: `mainnet.yaml`
beside this module holds well-known Ethereum mainnet contracts; core/chains.py names each
chain's bundled file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from core.address import normalize_address
from core.chains import DEFAULT_CHAIN, chain
from core.errors import AidropError, InvalidAddress
from graph.model import CATEGORIES
from graph.store import GraphStore

MAINNET = Path(__file__).with_name("mainnet.yaml")


def bundled(chain_id: int) -> Path | None:
    """The label file shipped for a chain (core/chains.py names it), if any."""
    name = chain(chain_id).labels
    return Path(__file__).with_name(name) if name else None


class LabelsError(AidropError, ValueError):
    code = "INVALID_LABELS"


def _entries(path: Path) -> list[Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise LabelsError(f"{path}: not YAML ({exc})") from exc
    except OSError as exc:
        raise LabelsError(f"{path}: {exc.strerror}") from exc
    if isinstance(data, dict) and "contracts" in data:
        data = data["contracts"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise LabelsError(f"{path}: expected a list of entries (address, name, category, source)")
    return data


def _entry(path: Path, n: int, raw: Any) -> dict[str, Any]:
    where = f"{path}: entry {n}"
    if not isinstance(raw, dict):
        raise LabelsError(f"{where}: expected a mapping with address, name, category, source")
    unknown = set(raw) - {"address", "name", "category", "source"}
    if unknown:
        raise LabelsError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    try:
        address = normalize_address(raw.get("address"))
    except InvalidAddress as exc:
        raise LabelsError(f"{where}: {exc}") from None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise LabelsError(f"{where} ({address}): name is missing")
    category = raw.get("category")
    if category not in CATEGORIES:
        raise LabelsError(
            f"{where} ({address}): category must be one of {', '.join(CATEGORIES)}, not {category!r}"
        )
    source = raw.get("source")
    return {
        "address": address,
        "name": name.strip(),
        "category": category,
        "source": str(source).strip() if source is not None else None,
    }


def read_labels(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every entry of the files, validated; the last file naming an address wins."""
    found: dict[str, dict[str, Any]] = {}
    for path in map(Path, paths):
        for n, raw in enumerate(_entries(path), start=1):
            entry = _entry(path, n, raw)
            found[entry["address"]] = entry
    return list(found.values())


async def load_labels(store: GraphStore, paths: Iterable[Path], chain_id: int = DEFAULT_CHAIN) -> int:
    """Mark the labelled addresses as contracts on chain `chain_id` with their name and category,
    and give each an attribution label (graph/labels.py; the bundled file's as unverified: written
    from memory)."""
    from graph.labels import Label, category_of, write_labels

    paths = list(map(Path, paths))
    rows = read_labels(paths)
    await store.upsert_contracts([{"address": r["address"], "name": r["name"], "category": r["category"],
                                   "block": None} for r in rows], chain_id)  # fmt: skip
    shipped = any(p.resolve() == MAINNET.resolve() for p in paths)
    confidence = 0.5 if shipped else 1.0
    labels = [Label(r["address"], r["name"], category_of(r["category"]), r["source"] or "labels", confidence,
                    not shipped) for r in rows]  # fmt: skip
    await write_labels(store, labels)
    return len(rows)
