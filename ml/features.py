"""Per-wallet features from the wallet graph (graph/features.py): one row per wallet, NaN where a
feature is undefined (a wallet that never sent has no sending hours). FEATURES documents each
one (docs/ml.md holds the same table); `absolute` marks calendar time, which models leave out
by default: it says when a wallet was active, not how it behaves."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from graph.features import WalletGraph
from graph.model import NATIVE_TOKEN
from ml.motifs import MOTIF_FEATURES, motif_features
from ml.ppr import ALPHA, personalized_pagerank, source_restart

DAY = 86_400.0
HOUR = 3_600.0
CATEGORIES = {
    "DeFi": "defi",
    "NFT": "nft",
    "Gaming": "gaming",
    "Social": "social",
    "Bridge": "bridge",
    "Exchange": "exchange",
}
GOVERNANCE = re.compile(r"govern|\bdao\b|treasury|vote|snapshot", re.I)
QUICK = DAY  # forwarded "quickly": within a day of the receipt it follows
BURST = 5 * DAY  # window of a burst of peer transfers
LARGE = 20.0  # a "large" transfer: 20x the median transfer of its asset


@dataclass(frozen=True)
class Feature:
    name: str
    group: str
    description: str
    absolute: bool = False  # absolute calendar time


FEATURES: list[Feature] = [
    Feature("in_degree", "flow", "transfers received"),
    Feature("out_degree", "flow", "transfers sent"),
    Feature("in_tx", "flow", "transactions received (sum of tx_count)"),
    Feature("out_tx", "flow", "transactions sent (sum of tx_count)"),
    Feature("in_counterparties", "flow", "distinct senders to the wallet (fan-in)"),
    Feature("out_counterparties", "flow", "distinct receivers from the wallet (fan-out)"),
    Feature("in_value", "flow", "native value received"),
    Feature("out_value", "flow", "native value sent"),
    Feature("first_seen", "time", "first transfer (unix time)", absolute=True),
    Feature("last_seen", "time", "last transfer (unix time)", absolute=True),
    Feature("span_days", "time", "days between first and last transfer"),
    Feature("in_span_days", "time", "days between first and last transfer received"),
    Feature("out_span_days", "time", "days between first and last transfer sent"),
    Feature("active_days", "activity", "distinct UTC days with a transfer"),
    Feature("tx_per_day", "activity", "transactions per day of the active span (frequency)"),
    Feature("tx_per_active_day", "activity", "transactions per active day"),
    Feature("gap_median_hours", "activity", "median time between transfers sent"),
    Feature("gap_cv", "activity", "coefficient of variation of the gaps between sends (regularity)"),
    Feature("in_gap_median_hours", "activity", "median time between transfers received"),
    Feature("hour_entropy", "activity", "entropy of the UTC hour of sends, 0..1"),
    Feature("weekday_entropy", "activity", "entropy of the weekday of sends, 0..1"),
    Feature("out_amount_mean", "amounts", "mean native amount sent"),
    Feature("out_amount_median", "amounts", "median native amount sent"),
    Feature("out_amount_max", "amounts", "largest native amount sent"),
    Feature("out_amount_cv", "amounts", "coefficient of variation of native amounts sent"),
    Feature("in_amount_mean", "amounts", "mean native amount received"),
    Feature("in_amount_median", "amounts", "median native amount received"),
    Feature("in_amount_max", "amounts", "largest native amount received"),
    Feature("round_share", "amounts", "share of native amounts sent with at most 2 decimals"),
    Feature("in_value_per_tx", "amounts", "native value received per transaction"),
    Feature("failed_share", "gas", "share of sent transactions that failed (gas paid, nothing moved)"),
    Feature("fee_total", "gas", "ETH paid in transaction fees (where the source gives them)"),
    Feature("fee_per_tx", "gas", "mean fee per sent transaction with a known fee"),
    Feature("fee_share", "gas", "fees / (fees + native value sent)"),
    Feature("fee_vs_day", "gas", "median fee paid over the day's median fee (overpaying: urgency)"),
    Feature("token_diversity", "tokens", "distinct assets moved (native counts as one)"),
    Feature("token_share", "tokens", "share of transfers that move tokens"),
    Feature("nft_share", "tokens", "share of transfers that move NFTs"),
    *(
        Feature(f"cat_{v}", "contracts", f"share of transfers with {k} contracts or their tokens")
        for k, v in CATEGORIES.items()
    ),
    *(
        Feature(f"mix_{v}", "contracts", f"{k} share of the wallet's DeFi, NFT, Gaming and Social transfers")
        for k, v in list(CATEGORIES.items())[:4]
    ),
    Feature(
        "category_transfers", "contracts", "transfers with DeFi, NFT, Gaming or Social contracts or tokens"
    ),
    Feature("contract_share", "contracts", "share of sends that call contracts"),
    Feature("young_share", "contracts", "share of contract calls to contracts under 180 days old"),
    Feature("governance_calls", "contracts", "calls to governance contracts (governors, DAO treasuries)"),
    Feature("pass_through", "layering", "min(in, out) / max(in, out) of native value"),
    Feature("forward_hours", "layering", "median time from a receipt to the next send of the same asset"),
    Feature("quick_forward_share", "layering", "share of sends within a day of a receipt of the asset"),
    Feature("hold_days", "layering", "median time a received token is held before the next send of it"),
    Feature("resell_share", "layering", "share of token receipts followed by a send of that token"),
    Feature("fan_in_share", "layering", "in_counterparties / (in_counterparties + out_counterparties)"),
    Feature("peer_in_max", "layering", "largest receipt from a non-contract, over the asset's median"),
    Feature("peer_out_max", "layering", "largest send to a non-contract, over the asset's median"),
    Feature("peer_out_burst", "layering", "most large sends to non-contracts within 5 days"),
    Feature("peer_in_burst", "layering", "most large receipts from non-contracts within 5 days"),
    Feature(
        "sender_burst", "graph", "most large sends within 5 days by any non-contract sender to the wallet"
    ),
    Feature(
        "receiver_burst", "graph", "most large receipts within 5 days of any non-contract receiver from it"
    ),
    *(Feature(name, "motifs", text) for name, text in MOTIF_FEATURES.items()),
    Feature("ppr", "graph", "personalised PageRank from the source wallets (alpha 0.5)"),
    Feature("pagerank", "graph", "PageRank (uniform restart, alpha 0.15)"),
    Feature("reciprocity", "graph", "share of counterparties that both sent and received"),
    Feature("oneoff_in_share", "graph", "share of senders that sent a single transaction"),
    Feature("senders_out_cp", "graph", "mean fan-out of the wallet's senders"),
    Feature("senders_in_cp", "graph", "mean fan-in of the wallet's senders"),
    Feature("receivers_in_cp", "graph", "mean fan-in of the wallet's receivers"),
    Feature("receivers_out_cp", "graph", "mean fan-out of the wallet's receivers"),
    Feature("source_senders", "graph", "share of senders that never received anything"),
    Feature("sink_receivers", "graph", "share of receivers that never sent anything"),
    Feature("sender_age_days", "graph", "median days a sender had been active before sending here"),
    Feature("sender_after_days", "graph", "median days a sender stayed active after sending here"),
    Feature("receiver_age_days", "graph", "median days a receiver had been active before receiving"),
]
NAMES = [f.name for f in FEATURES]
ABSOLUTE = [f.name for f in FEATURES if f.absolute]


def feature_names(absolute_time: bool = False, motifs: bool = True) -> list[str]:
    """Feature columns; typology and clusters leave out the laundering motifs (behaviour only)."""
    return [f.name for f in FEATURES if (absolute_time or not f.absolute) and (motifs or f.group != "motifs")]


def _bincount(index: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(index, weights=weights, minlength=n).astype(float)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def _group_median(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    if len(keys):
        med = pd.Series(values).groupby(keys).median()
        out[med.index.to_numpy()] = med.to_numpy()
    return out


def _entropy(keys: np.ndarray, bins: np.ndarray, k: int, n: int) -> np.ndarray:
    counts = np.bincount(keys * k + bins, minlength=n * k).reshape(n, k).astype(float)
    total = counts.sum(1, keepdims=True)
    p = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(1) / np.log(k)
    return np.where(total[:, 0] > 0, h, np.nan)


def _distinct_pairs(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Per a: number of distinct b."""
    if not len(a):
        return np.zeros(n)
    m = int(b.max()) + 1
    pairs = np.unique(a.astype(np.int64) * m + b.astype(np.int64))
    return _bincount(pairs // m, n)


def _gaps(keys: np.ndarray, ts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Median gap (hours) and the gaps' coefficient of variation, per key, over sorted times."""
    order = np.lexsort((ts, keys))
    k, t = keys[order], ts[order].astype(float)
    same = k[1:] == k[:-1]
    gap_keys, gaps = k[1:][same], (t[1:] - t[:-1])[same] / HOUR
    median = _group_median(gap_keys, gaps, n)
    cnt = _bincount(gap_keys, n)
    mean = _ratio(_bincount(gap_keys, n, gaps), cnt)
    var = _ratio(_bincount(gap_keys, n, gaps**2), cnt) - mean**2
    cv = _ratio(np.sqrt(np.clip(var, 0, None)), mean)
    return median, np.where(cnt >= 2, cv, np.nan)


def _asof(
    keys_a: np.ndarray, ts_a: np.ndarray, keys_b: np.ndarray, ts_b: np.ndarray, direction: str
) -> np.ndarray:
    """For each a: the time of the latest b at or before it ("backward") or the first b after it
    ("forward") with the same key; NaN if none."""
    if not len(keys_a) or not len(keys_b):
        return np.full(len(keys_a), np.nan)
    left = pd.DataFrame({"k": keys_a, "ts": ts_a.astype(np.int64), "i": np.arange(len(keys_a))})
    right = pd.DataFrame({"k": keys_b, "ts": ts_b.astype(np.int64)})
    right["t_b"] = right["ts"].astype(float)
    left, right = left.sort_values("ts"), right.sort_values("ts")
    merged = pd.merge_asof(
        left, right, on="ts", by="k", direction=direction, allow_exact_matches=direction == "backward"
    )
    out = np.full(len(keys_a), np.nan)
    out[merged["i"].to_numpy()] = merged["t_b"].to_numpy()
    return out


def compute_features(graph: WalletGraph, alpha: float = ALPHA) -> pd.DataFrame:
    """The feature table (columns NAMES, one row per wallet in graph order)."""
    w, e = graph.wallets, graph.edges
    n = graph.n
    src, dst = e["src"].to_numpy(), e["dst"].to_numpy()
    ts, value = e["ts"].to_numpy(), e["value"].to_numpy(dtype=float)
    weight = e["tx_count"].to_numpy(dtype=float)
    native_code = graph.tokens.index(NATIVE_TOKEN) if NATIVE_TOKEN in graph.tokens else -1
    token = e["token"].to_numpy()
    native = token == native_code
    f: dict[str, np.ndarray] = {}

    # flow (the same figures as graph.features.fan_aggregates, from the pulled transfers)
    f["in_degree"], f["out_degree"] = _bincount(dst, n), _bincount(src, n)
    f["in_tx"], f["out_tx"] = _bincount(dst, n, weight), _bincount(src, n, weight)
    f["in_counterparties"], f["out_counterparties"] = (
        _distinct_pairs(dst, src, n),
        _distinct_pairs(src, dst, n),
    )
    f["in_value"] = _bincount(dst[native], n, value[native])
    f["out_value"] = _bincount(src[native], n, value[native])

    # time
    tsf = ts.astype(float)
    first_in, last_in = _minmax(dst, tsf, n)
    first_out, last_out = _minmax(src, tsf, n)
    first, last = np.fmin(first_in, first_out), np.fmax(last_in, last_out)
    f["first_seen"], f["last_seen"] = first, last
    f["span_days"] = (last - first) / DAY
    f["in_span_days"], f["out_span_days"] = (last_in - first_in) / DAY, (last_out - first_out) / DAY

    # activity
    both = np.concatenate([src, dst])
    days = np.concatenate([ts, ts]) // int(DAY)
    f["active_days"] = _distinct_pairs(both, days - days.min() if len(days) else days, n)
    tx_total = f["in_tx"] + f["out_tx"]
    f["tx_per_day"] = _ratio(tx_total, np.maximum(f["span_days"], 1.0))
    f["tx_per_active_day"] = _ratio(tx_total, f["active_days"])
    f["gap_median_hours"], f["gap_cv"] = _gaps(src, ts, n)
    f["in_gap_median_hours"], _ = _gaps(dst, ts, n)
    f["hour_entropy"] = _entropy(src, (ts % int(DAY)) // int(HOUR), 24, n)
    f["weekday_entropy"] = _entropy(src, (ts // int(DAY) + 3) % 7, 7, n)  # 1970-01-01 was a Thursday

    # amounts (native)
    s_n, d_n, v_n = src[native], dst[native], value[native]
    cnt_out, cnt_in = _bincount(s_n, n), _bincount(d_n, n)
    f["out_amount_mean"] = _ratio(_bincount(s_n, n, v_n), cnt_out)
    f["out_amount_median"] = _group_median(s_n, v_n, n)
    f["out_amount_max"] = _group_max(s_n, v_n, n)
    var = _ratio(_bincount(s_n, n, v_n**2), cnt_out) - f["out_amount_mean"] ** 2
    f["out_amount_cv"] = _ratio(np.sqrt(np.clip(var, 0, None)), f["out_amount_mean"])
    f["in_amount_mean"] = _ratio(_bincount(d_n, n, v_n), cnt_in)
    f["in_amount_median"] = _group_median(d_n, v_n, n)
    f["in_amount_max"] = _group_max(d_n, v_n, n)
    cents = v_n * 100
    rounded = (np.abs(cents - np.round(cents)) < 1e-6) & (v_n > 0)
    f["round_share"] = _ratio(_bincount(s_n, n, rounded.astype(float)), cnt_out)
    f["in_value_per_tx"] = _ratio(f["in_value"], _bincount(d_n, n, weight[native]))

    # gas: failed sends, and the fees of the transactions sent (0: the source gave none)
    f["failed_share"] = _ratio(w["failed_out"].to_numpy(dtype=float), f["out_tx"])
    fee = e["fee"].to_numpy(dtype=float) if "fee" in e else np.zeros(len(e))
    paid = fee > 0
    s_f, v_f = src[paid], fee[paid]
    n_f, sum_f = _bincount(s_f, n), _bincount(s_f, n, v_f)
    f["fee_total"] = np.where(n_f > 0, sum_f, np.nan)
    f["fee_per_tx"] = _ratio(sum_f, n_f)
    f["fee_share"] = np.where(n_f > 0, _ratio(sum_f, sum_f + f["out_value"]), np.nan)
    fee_day = ts[paid] // int(DAY)
    day_median = pd.Series(v_f).groupby(fee_day).transform("median").to_numpy() if len(v_f) else v_f
    f["fee_vs_day"] = _group_median(s_f, _ratio(v_f, day_median), n)

    # tokens
    tok = np.concatenate([token, token])
    f["token_diversity"] = _distinct_pairs(both, tok, n)
    deg = f["in_degree"] + f["out_degree"]
    is_token = np.concatenate([~native, ~native]).astype(float)
    f["token_share"] = _ratio(_bincount(both, n, is_token), deg)
    token_pos = graph.positions(pd.Series(graph.tokens))  # wallet row of each token contract
    nft_flag = w["nft"].to_numpy()
    tok_is_nft = np.where(token_pos >= 0, nft_flag[np.clip(token_pos, 0, None)], False)
    f["nft_share"] = _ratio(_bincount(both, n, np.concatenate([tok_is_nft[token]] * 2).astype(float)), deg)

    # contracts: the counterparty's category, else the category of the token moved
    category = w["category"].to_numpy(dtype=object)
    cat_codes = np.full(n + 1, -1, dtype=np.int64)  # last slot: "no wallet"
    names = list(CATEGORIES)
    for i, k in enumerate(names):
        cat_codes[:n][category == k] = i
    tok_cat = cat_codes[np.where(token_pos >= 0, token_pos, n)][token]
    other = np.concatenate([dst, src])
    inter = cat_codes[other]
    inter = np.where(inter >= 0, inter, np.concatenate([tok_cat, tok_cat]))
    for i, k in enumerate(names):
        f[f"cat_{CATEGORIES[k]}"] = _ratio(_bincount(both, n, (inter == i).astype(float)), deg)
    counts = {k: _bincount(both, n, (inter == i).astype(float)) for i, k in enumerate(names[:4])}
    total: np.ndarray = np.sum(list(counts.values()), axis=0) if counts else np.zeros(n)
    for k, c in counts.items():
        f[f"mix_{CATEGORIES[k]}"] = _ratio(c, total)
    f["category_transfers"] = total
    f["contract_share"] = _ratio(w["contract_calls"].to_numpy(dtype=float), f["out_degree"])
    f["young_share"] = _ratio(
        w["young_calls"].to_numpy(dtype=float), w["contract_calls"].to_numpy(dtype=float)
    )
    gov = np.array([bool(GOVERNANCE.search(x)) if isinstance(x, str) else False for x in w["name"]])
    f["governance_calls"] = _bincount(src, n, gov[dst].astype(float)) if len(src) else np.zeros(n)

    # layering
    f["pass_through"] = _ratio(
        np.minimum(f["in_value"], f["out_value"]), np.maximum(f["in_value"], f["out_value"])
    )
    key_out = src.astype(np.int64) * max(len(graph.tokens), 1) + token
    key_in = dst.astype(np.int64) * max(len(graph.tokens), 1) + token
    prev_in = _asof(key_out, ts, key_in, ts, "backward")
    fwd = (tsf - prev_in) / HOUR
    has = ~np.isnan(fwd)
    f["forward_hours"] = _group_median(src[has], fwd[has], n)
    f["quick_forward_share"] = _ratio(
        _bincount(src, n, (has & (fwd * HOUR <= QUICK)).astype(float)), f["out_degree"]
    )
    tok_in = ~native
    next_out = _asof(key_in[tok_in], ts[tok_in], key_out[~native], ts[~native], "forward")
    hold = (next_out - tsf[tok_in]) / DAY
    sold = ~np.isnan(hold)
    d_tok = dst[tok_in]
    f["hold_days"] = _group_median(d_tok[sold], hold[sold], n)
    f["resell_share"] = _ratio(_bincount(d_tok, n, sold.astype(float)), _bincount(d_tok, n))
    f["fan_in_share"] = _ratio(f["in_counterparties"], f["in_counterparties"] + f["out_counterparties"])
    med = pd.Series(value).groupby(token).median().reindex(range(len(graph.tokens))).to_numpy()
    rel = _ratio(value, med[token]) if len(token) else value
    contract = w["contract"].to_numpy()
    peer = ~contract[src] & ~contract[dst] & ~tok_is_nft[token]
    f["peer_in_max"] = _group_max(dst[peer], rel[peer], n)
    f["peer_out_max"] = _group_max(src[peer], rel[peer], n)

    # bursts of large peer transfers (fan-in, fan-out and their counterparties' view of them)
    large = peer & (np.nan_to_num(rel) >= LARGE)
    ls, ld, lt = src[large], dst[large], ts[large]
    out_burst, in_burst = _window_counts(ls, lt, BURST), _window_counts(ld, lt, BURST)
    f["peer_out_burst"] = np.nan_to_num(_group_max(ls, out_burst, n))
    f["peer_in_burst"] = np.nan_to_num(_group_max(ld, in_burst, n))
    f["sender_burst"] = np.nan_to_num(_group_max(ld, out_burst, n))
    f["receiver_burst"] = np.nan_to_num(_group_max(ls, in_burst, n))

    # motifs: unusual peer transfers linked by amount and time (ml/motifs.py)
    f.update(motif_features(graph))

    # graph: PageRank, reciprocity and the wallet's neighbours
    f["ppr"] = personalized_pagerank(src, dst, weight, n, source_restart(src, dst, n), alpha)
    f["pagerank"] = personalized_pagerank(src, dst, weight, n, np.ones(n), 0.15, tol=1e-10)
    pair = (
        pd.DataFrame({"s": src, "d": dst, "w": weight})
        .groupby(["s", "d"], sort=False)["w"]
        .sum()
        .reset_index()
    )
    ps, pd_, pw = pair["s"].to_numpy(), pair["d"].to_numpy(), pair["w"].to_numpy()
    rev = pd.MultiIndex.from_arrays([pd_, ps]).isin(pd.MultiIndex.from_arrays([ps, pd_]))
    mutual = _bincount(ps, n, rev.astype(float))  # counterparties both ways (counted once per side)
    f["reciprocity"] = _ratio(mutual, f["in_counterparties"] + f["out_counterparties"] - mutual)
    f["oneoff_in_share"] = _ratio(_bincount(pd_, n, (pw == 1).astype(float)), _bincount(pd_, n))
    in_cp, out_cp = f["in_counterparties"], f["out_counterparties"]
    per_in = _bincount(pd_, n)
    f["senders_out_cp"] = _ratio(_bincount(pd_, n, out_cp[ps]), per_in)
    f["senders_in_cp"] = _ratio(_bincount(pd_, n, in_cp[ps]), per_in)
    per_out = _bincount(ps, n)
    f["receivers_in_cp"] = _ratio(_bincount(ps, n, in_cp[pd_]), per_out)
    f["receivers_out_cp"] = _ratio(_bincount(ps, n, out_cp[pd_]), per_out)
    f["source_senders"] = _ratio(_bincount(pd_, n, (in_cp[ps] == 0).astype(float)), per_in)
    f["sink_receivers"] = _ratio(_bincount(ps, n, (out_cp[pd_] == 0).astype(float)), per_out)
    f["sender_age_days"] = _group_median(dst, (tsf - first[src]) / DAY, n)
    f["sender_after_days"] = _group_median(dst, (last[src] - tsf) / DAY, n)
    f["receiver_age_days"] = _group_median(src, (tsf - first[dst]) / DAY, n)

    frame = pd.DataFrame(f, index=pd.RangeIndex(n))
    return frame[NAMES]


def _window_counts(keys: np.ndarray, ts: np.ndarray, window: float) -> np.ndarray:
    """For each event: events of the same key from its time to `window` seconds later."""
    if not len(keys):
        return np.zeros(0)
    comp = keys.astype(np.int64) * (1 << 34) + (ts.astype(np.int64) - int(ts.min()))
    order = np.argsort(comp, kind="stable")
    sorted_comp = comp[order]
    ends = np.searchsorted(sorted_comp, sorted_comp + int(window), side="right")
    counts = np.empty(len(keys))
    counts[order] = ends - np.arange(len(keys))
    return counts


def _minmax(keys: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(lo, keys, values)
    np.maximum.at(hi, keys, values)
    return np.where(np.isinf(lo), np.nan, lo), np.where(np.isinf(hi), np.nan, hi)


def _group_max(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    ok = ~np.isnan(values)
    np.maximum.at(out, keys[ok], values[ok])
    return np.where(np.isinf(out), np.nan, out)
