"""Address lists as people publish them -> attribution labels (graph/labels.py).

Formats, told apart by content:
- CSV with a header `address,label,category[,source,confidence]` (confidence 0..1 or 0..100);
- a plain list, one address per line (`#` comments), with the category and source given by the
  caller (`--category sanctioned --source ofac`);
- GraphSense TagPack YAML: a header (title, creator, label, category, source, currency,
  confidence, abuse, ...) whose fields every entry of `tags:` inherits unless it sets its own;
  tags of other currencies than ETH are skipped, `abuse` wins over `category`;
- the contract label YAML of `aidrop ingest labels` (address, name, category, source).

Rows that cannot be read are reported by file and line (or tag number), not loaded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.address import normalize_address
from core.errors import InvalidAddress
from graph.labels import MAX_LABEL, Label, category_of
from ingest.labels import LabelsError, read_labels
from ingest.report import RowError

# TagPack confidence ids (GraphSense's confidence taxonomy) as a 0..1 share; unknown ids 0.5.
TAGPACK_CONFIDENCE = {
    "ownership": 1.0,
    "authority_data": 0.95,
    "override": 0.95,
    "service_data": 0.9,
    "forensic": 0.8,
    "manual_transaction": 0.7,
    "untrusted_transaction": 0.5,
    "web_crawl": 0.4,
    "heuristic": 0.3,
}
EVM_CURRENCIES = {"ETH", "ETHEREUM"}
UNVERIFIED_MARKS = ("unverified", "from memory")


@dataclass
class LabelFile:
    labels: list[Label] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0  # entries of other chains
    contracts: list[dict[str, Any]] = field(default_factory=list)  # contract YAML entries


def _confidence(value: Any, default: float = 1.0) -> float:
    if value is None or value == "":
        return default
    if isinstance(value, str) and not _is_number(value):
        return TAGPACK_CONFIDENCE.get(value.strip().lower(), 0.5)
    number = float(value)
    if number > 1.0:  # percent
        number /= 100.0
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"confidence {value!r} is not between 0 and 1 (or 0 and 100)")
    return number


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _text(value: Any) -> str:
    return " ".join(str(value).split())[:MAX_LABEL] if value is not None else ""


def _label(
    address: Any,
    label: Any,
    category: Any,
    source: Any,
    confidence: Any,
    verified: bool,
    default_confidence: float = 1.0,
) -> Label:
    if not category or not str(category).strip():
        raise ValueError("category is missing")
    cat = category_of(str(category))
    src = _text(source) or "unknown"
    return Label(
        normalize_address(address),
        _text(label) or cat,
        cat,
        src,
        _confidence(confidence, default_confidence),
        verified,
    )


def read_csv(path: Path, text: str, verified: bool, out: LabelFile) -> None:
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if "address" not in header:
        raise LabelsError(f"{path}: a CSV needs a header with address,label,category[,source,confidence]")
    missing = {"label", "category"} - set(header)
    if missing:
        raise LabelsError(f"{path}: the header has no {', '.join(sorted(missing))} column")
    col = {name: i for i, name in enumerate(header)}
    for line, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        cells = {name: row[i].strip() for name, i in col.items() if i < len(row)}
        try:
            source = cells.get("source") or path.stem
            out.labels.append(
                _label(
                    cells.get("address"),
                    cells.get("label"),
                    cells.get("category"),
                    source,
                    cells.get("confidence"),
                    verified,
                )
            )
        except (InvalidAddress, ValueError) as exc:
            out.errors.append(RowError(str(path), line, str(exc)))


def read_plain(
    path: Path,
    text: str,
    category: str,
    source: str,
    label: str | None,
    confidence: float,
    verified: bool,
    out: LabelFile,
) -> None:
    for line, raw in enumerate(text.splitlines(), start=1):
        body = raw.split("#", 1)[0].strip().strip(",")
        if not body:
            continue
        try:
            out.labels.append(_label(body, label or source, category, source, confidence, verified))
        except (InvalidAddress, ValueError) as exc:
            out.errors.append(RowError(str(path), line, str(exc)))


def read_tagpack(path: Path, data: dict[str, Any], verified: bool, out: LabelFile) -> None:
    header = {k: v for k, v in data.items() if k != "tags"}
    tags = data.get("tags") or []
    if not isinstance(tags, list):
        raise LabelsError(f"{path}: `tags` must be a list")
    for n, tag in enumerate(tags, start=1):
        if not isinstance(tag, dict):
            out.errors.append(RowError(str(path), n, "a tag must be a mapping"))
            continue
        entry = {**header, **tag}
        currency = str(entry.get("currency") or entry.get("network") or "ETH").upper()
        if currency not in EVM_CURRENCIES:
            out.skipped += 1
            continue
        category = entry.get("abuse") or entry.get("category")
        try:
            out.labels.append(
                _label(
                    entry.get("address"),
                    entry.get("label"),
                    category,
                    entry.get("source") or header.get("title") or path.stem,
                    entry.get("confidence"),
                    verified and not _unverified(entry),
                )
            )
        except (InvalidAddress, ValueError) as exc:
            out.errors.append(RowError(str(path), n, f"tag {n}: {exc}"))


def _unverified(entry: dict[str, Any]) -> bool:
    if entry.get("verified") is False:
        return True
    text = f"{entry.get('title', '')} {entry.get('description', '')}".lower()
    return any(mark in text for mark in UNVERIFIED_MARKS)


def read_contract_yaml(path: Path, verified: bool, out: LabelFile) -> None:
    """The contract label YAML: contracts for :Contract, and the same entries as labels."""
    entries = read_labels([path])
    out.contracts.extend(entries)
    for e in entries:
        out.labels.append(
            Label(
                e["address"], e["name"], category_of(e["category"]), e["source"] or path.stem, 1.0, verified
            )
        )


def read_file(
    path: Path,
    category: str | None = None,
    source: str | None = None,
    label: str | None = None,
    confidence: float = 1.0,
    verified: bool = True,
) -> LabelFile:
    """One file in whichever format it is; `category`/`source` are needed for a plain list."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelsError(f"{path}: {exc}") from exc
    out = LabelFile()
    first = next(
        (ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), ""
    )
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise LabelsError(f"{path}: not YAML ({exc})") from exc
        if isinstance(data, dict) and "tags" in data:
            read_tagpack(path, data, verified, out)
        else:
            read_contract_yaml(path, verified, out)
    elif first.lower().startswith("address") and "," in first:
        read_csv(path, text, verified, out)
    else:
        if not category:
            raise LabelsError(f"{path}: a plain list of addresses needs --category (and --source)")
        read_plain(path, text, category, source or path.stem, label, confidence, verified, out)
    return out


def read_files(paths: Iterable[Path], **options: Any) -> LabelFile:
    """Every file; a later file's label for the same (address, source, category) wins."""
    merged = LabelFile()
    found: dict[str, Label] = {}
    for path in paths:
        one = read_file(Path(path), **options)
        for lab in one.labels:
            found[lab.key] = lab
        merged.errors += one.errors
        merged.skipped += one.skipped
        merged.contracts += one.contracts
    merged.labels = list(found.values())
    return merged


RISK_BUNDLE = Path(__file__).with_name("risk.yaml")


async def import_labels(
    store: Any, paths: Iterable[Path], replace: bool = False, **options: Any
) -> dict[str, Any]:
    """Read the files and write their labels (and contract entries as :Contract); with `replace`,
    each source's earlier labels are removed first. A summary for the CLI and API."""
    from graph.labels import delete_source, write_labels

    found = read_files(paths, **options)
    if replace:
        for source in sorted({lab.source for lab in found.labels}):
            await delete_source(store, source)
    if found.contracts:
        await store.upsert_contracts(
            [
                {"address": c["address"], "name": c["name"], "category": c["category"], "block": None}
                for c in found.contracts
            ]
        )
    written = await write_labels(store, found.labels)
    categories: dict[str, int] = {}
    for lab in found.labels:
        categories[lab.category] = categories.get(lab.category, 0) + 1
    return {
        "labels": written,
        "wallets": len({lab.address for lab in found.labels}),
        "categories": dict(sorted(categories.items())),
        "contracts": len(found.contracts),
        "skipped_other_chains": found.skipped,
        "errors": [str(e) for e in found.errors[:50]],
        "error_count": len(found.errors),
    }
