"""Versioned model artifacts: AIDROP_DATA_DIR/models/<model>/<version>/ holds model.joblib and
metadata.json (data fingerprint, parameters, metrics, time); models/<model>/ACTIVE names the
version in use. Evaluations (for `aidrop report model`) go to models/evaluations/<name>.json."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib

from core.errors import NotFound
from ml.models import MODELS

MODEL_NAMES = tuple(MODELS)  # the table's (ml/models.py)
_VERSION = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$")


@dataclass(frozen=True)
class Artifact:
    model: str
    version: str
    path: Path
    metadata: dict[str, Any]
    obj: Any = None


class Registry:
    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir) / "models"

    def _dir(self, model: str) -> Path:
        if model not in MODEL_NAMES:
            raise ValueError(f"unknown model {model!r}: one of {', '.join(MODEL_NAMES)}")
        return self.root / model

    def save(self, model: str, obj: Any, metadata: dict[str, Any], activate: bool = True) -> Artifact:
        """Store a new version (never overwrites one) and make it active."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        version = f"{stamp}-{uuid.uuid4().hex[:6]}"
        path = self._dir(model) / version
        path.mkdir(parents=True)
        joblib.dump(obj, path / "model.joblib", compress=3)
        meta = {
            "model": model,
            "version": version,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **metadata,
        }
        (path / "metadata.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=_plain))
        if activate:
            self.activate(model, version)
        return Artifact(model, version, path, meta)

    def activate(self, model: str, version: str) -> None:
        if not (self._dir(model) / version / "metadata.json").exists():
            raise NotFound(f"no version {version} of model {model}")
        pointer = self._dir(model) / "ACTIVE"
        tmp = pointer.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(version + "\n")
        tmp.replace(pointer)

    def active(self, model: str) -> str | None:
        pointer = self._dir(model) / "ACTIVE"
        return pointer.read_text().strip() if pointer.exists() else None

    def versions(self, model: str) -> list[str]:
        folder = self._dir(model)
        if not folder.exists():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and _VERSION.match(p.name))

    def metadata(self, model: str, version: str | None = None) -> dict[str, Any]:
        version = version or self.active(model)
        if version is None:
            raise NotFound(f"no trained {model} model: run `aidrop train` first")
        path = self._dir(model) / version / "metadata.json"
        if not path.exists():
            raise NotFound(f"no version {version} of model {model}")
        return json.loads(path.read_text())

    def load(self, model: str, version: str | None = None) -> Artifact:
        meta = self.metadata(model, version)
        path = self._dir(model) / meta["version"]
        return Artifact(model, meta["version"], path, meta, joblib.load(path / "model.joblib"))

    def record(self, model: str, entry: dict[str, Any]) -> None:
        """Append a decision (a drift check, a challenger promoted or rejected) to the model's
        history: models/<model>/HISTORY.jsonl, one JSON object a line."""
        folder = self._dir(model)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "HISTORY.jsonl").open("a") as fh:
            fh.write(json.dumps(entry, sort_keys=True, default=_plain) + "\n")

    def history(self, model: str) -> list[dict[str, Any]]:
        path = self._dir(model) / "HISTORY.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def save_evaluation(self, name: str, result: dict[str, Any]) -> Path:
        folder = self.root / "evaluations"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.json"
        path.write_text(
            json.dumps(
                {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **result},
                indent=2,
                sort_keys=True,
                default=_plain,
            )
        )
        return path

    def evaluations(self) -> dict[str, dict[str, Any]]:
        folder = self.root / "evaluations"
        if not folder.exists():
            return {}
        return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as plain JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
