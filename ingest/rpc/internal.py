"""Internal transactions: value moved by contracts inside a transaction (a mixer's or a router's
payouts), from `trace_block` (parity traces: Erigon, Reth, Nethermind, Besu, anvil) or from
`debug_traceBlockByNumber` with the callTracer (geth and the others).

Every call frame of a transaction has a position: its index in depth-first order, the top-level
call 0. A frame that moved value becomes a transfer with `log_index = -1 - position`, so the
top-level value keeps -1 and each internal one a distinct identity, the same from either tracer.
Counted: calls with value (not delegatecall/staticcall, which move none), creations with value
(to the created contract) and self-destructs (the balance to the beneficiary). A frame that
failed moves nothing, and neither does anything below it (its state changes are reverted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InternalTransfer:
    tx_hash: str
    position: int  # depth-first index of the call frame in its transaction (top level 0)
    from_address: str
    to_address: str
    wei: int

    @property
    def log_index(self) -> int:
        return -1 - self.position


def _wei(value: Any) -> int:
    if value is None:
        return 0
    return int(value, 16) if isinstance(value, str) else int(value)


def from_parity(traces: list[dict[str, Any]]) -> dict[str, list[InternalTransfer]]:
    """trace_block's answer -> internal value transfers per transaction hash (lower case)."""
    out: dict[str, list[InternalTransfer]] = {}
    position: dict[str, int] = {}
    failed: dict[str, list[tuple[int, ...]]] = {}
    for t in traces:
        tx = (t.get("transactionHash") or "").lower()
        if not tx:  # block rewards
            continue
        pos = position.get(tx, 0)
        position[tx] = pos + 1
        address = tuple(t.get("traceAddress") or ())
        if t.get("error"):
            failed.setdefault(tx, []).append(address)
        if not address or any(address[: len(f)] == f for f in failed.get(tx, ())):
            continue
        action, kind = t.get("action") or {}, t.get("type")
        if kind == "call" and action.get("callType", "call") == "call":
            src, dst, wei = action.get("from"), action.get("to"), _wei(action.get("value"))
        elif kind == "create":
            src, dst, wei = (
                action.get("from"),
                (t.get("result") or {}).get("address"),
                _wei(action.get("value")),
            )
        elif kind == "suicide":
            src, dst, wei = action.get("address"), action.get("refundAddress"), _wei(action.get("balance"))
        else:
            continue
        if wei > 0 and src and dst:
            out.setdefault(tx, []).append(InternalTransfer(tx, pos, src.lower(), dst.lower(), wei))
    return out


def from_call_tracer(results: list[dict[str, Any]]) -> dict[str, list[InternalTransfer]]:
    """debug_traceBlockByNumber(callTracer)'s answer -> internal value transfers per transaction."""
    out: dict[str, list[InternalTransfer]] = {}
    for item in results:
        tx = (item.get("txHash") or "").lower()
        frame = item.get("result") or {}
        if not tx or not frame:
            continue
        found: list[InternalTransfer] = []
        counter = [0]

        def walk(
            f: dict[str, Any], top: bool, tx: str = tx, found: list = found, counter: list = counter
        ) -> None:
            pos = counter[0]
            counter[0] += 1
            if f.get("error"):
                _skip(f, counter)  # the frames below keep their positions, but move nothing
                return
            kind = (f.get("type") or "").upper()
            wei = _wei(f.get("value"))
            if not top and wei > 0 and kind in ("CALL", "CREATE", "CREATE2", "SELFDESTRUCT") and f.get("to"):
                found.append(InternalTransfer(tx, pos, f["from"].lower(), f["to"].lower(), wei))
            for child in f.get("calls") or ():
                walk(child, False)

        walk(frame, True)
        if found:
            out[tx] = found
    return out


def _skip(frame: dict[str, Any], counter: list[int]) -> None:
    for child in frame.get("calls") or ():
        counter[0] += 1
        _skip(child, counter)
