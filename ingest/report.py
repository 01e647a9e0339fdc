"""What an ingestion run did: rows read, transfers written, and every rejected row by file and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_KEPT_ERRORS = 1000  # every rejected row is counted; the first ones are kept with their reason


@dataclass(frozen=True)
class RowError:
    file: str
    line: int  # 1-based CSV record number, header = 1 (a JSON record index for JSON files)
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class IngestReport:
    rows_read: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0  # well-formed rows that move nothing (e.g. creation without receipt)
    transfers_written: int = 0
    wallets_created: int = 0
    contracts: int = 0
    tokens: int = 0
    mode: str = ""
    errors: list[RowError] = field(default_factory=list)

    def reject(self, errors: list[RowError]) -> None:
        self.rows_rejected += len(errors)
        room = MAX_KEPT_ERRORS - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "rows_read": self.rows_read,
            "rows_rejected": self.rows_rejected,
            "rows_skipped": self.rows_skipped,
            "transfers_written": self.transfers_written,
            "wallets_created": self.wallets_created,
            "contracts": self.contracts,
            "tokens": self.tokens,
            "errors": [str(e) for e in self.errors],
        }
