"""The synthetic data generator, checked on its files: ethereum-etl shape, determinism, and the
distributions it promises (segments, time of day and week, gas drift, heavy tails, typology axes,
campaign uplift, laundering labels)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingest.synth import CampaignParams, LaunderingParams, generate, in_treatment
from ingest.synth.chain import RECEIPTS, TOKEN_TRANSFERS, TRANSACTIONS
from ingest.synth.clock import BLOCK_SECONDS, DEFAULT_START, FIRST_BLOCK
from ingest.synth.laundering import TYPES

ADDRESS = r"0x[0-9a-f]{40}"
HASH = r"0x[0-9a-f]{64}"
UINT = r"0|[1-9][0-9]*"
DATA_FILES = ("transactions", "token_transfers", "receipts", "contracts", "tokens", "labels", "campaign")
SELECTOR = {"vote": "0x56781388", "swap_buy": "0x7ff36ab5", "swap_sell": "0x18cbafe5"}


def read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def sha256s(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.csv"))}


class Data:
    """One generated folder and its files as frames (strings)."""

    def __init__(self, folder: Path, summary) -> None:  # type: ignore[no-untyped-def]
        self.folder, self.summary = folder, summary
        self.tx = read(folder, "transactions")
        self.receipts = read(folder, "receipts")
        self.tt = read(folder, "token_transfers")
        self.contracts = read(folder, "contracts")
        self.tokens = read(folder, "tokens")
        self.labels = read(folder, "labels")
        self.campaign = read(folder, "campaign")
        self.laundering = read(folder, "laundering")
        self.ts = self.tx["block_timestamp"].astype(np.int64)
        self.category = dict(zip(self.contracts["address"], self.contracts["category"], strict=True))
        self.tx_labels = self.tx.merge(self.labels, left_on="from_address", right_on="address")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Data:
    folder = tmp_path_factory.mktemp("synth")
    summary = generate(folder, 2000, 28, seed=11, campaign=True,
                       campaign_params=CampaignParams(baseline=0.1, uplift=0.2))  # fmt: skip
    return Data(folder, summary)


# ---- determinism --------------------------------------------------------------------------------


def test_same_arguments_give_identical_files_and_another_seed_different_ones(tmp_path: Path) -> None:
    args = {"wallets": 300, "days": 7, "laundering_share": 0.05, "campaign": True}
    generate(tmp_path / "a", seed=5, **args)
    generate(tmp_path / "b", seed=5, **args)
    generate(tmp_path / "c", seed=6, **args)
    a, b, c = (sha256s(tmp_path / x) for x in "abc")
    assert set(a) == {f"{n}.csv" for n in DATA_FILES} | {"laundering.csv"}
    assert a == b
    for name in DATA_FILES:
        assert a[f"{name}.csv"] != c[f"{name}.csv"], name


# ---- the ethereum-etl files ---------------------------------------------------------------------


def test_files_have_ethereum_etl_columns_and_formats(data: Data) -> None:
    assert tuple(data.tx.columns) == TRANSACTIONS
    assert tuple(data.receipts.columns) == RECEIPTS
    assert tuple(data.tt.columns) == TOKEN_TRANSFERS
    assert tuple(data.contracts.columns[:6]) == ("address", "bytecode", "function_sighashes", "is_erc20",
                                                 "is_erc721", "block_number")  # fmt: skip
    assert tuple(data.tokens.columns) == (
        "address",
        "symbol",
        "name",
        "decimals",
        "total_supply",
        "block_number",
    )
    checks = {
        "tx": (data.tx, {"hash": HASH, "block_hash": HASH, "from_address": ADDRESS, "value": UINT,
                         "nonce": UINT, "gas": UINT, "gas_price": UINT, "block_number": UINT,
                         "input": r"0x([0-9a-f]{8})?", "transaction_type": "[02]"}),
        "receipts": (data.receipts, {"transaction_hash": HASH, "status": "[01]", "gas_used": UINT}),
        "tt": (data.tt, {"token_address": ADDRESS, "from_address": ADDRESS, "to_address": ADDRESS,
                         "value": UINT, "transaction_hash": HASH, "log_index": UINT}),
        "contracts": (data.contracts, {"address": ADDRESS, "block_number": UINT}),
    }  # fmt: skip
    for name, (frame, columns) in checks.items():
        for column, pattern in columns.items():
            bad = frame[~frame[column].str.fullmatch(pattern)]
            assert bad.empty, f"{name}.{column}: {bad[column].head(3).tolist()}"
    # a to_address, or none for a contract creation (whose receipt names the contract)
    creation = data.tx["to_address"] == ""
    assert data.tx.loc[~creation, "to_address"].str.fullmatch(ADDRESS).all()
    assert creation.sum() == (data.receipts["contract_address"] != "").sum() > 0
    assert set(data.contracts["category"]) <= {"DeFi", "NFT", "Gaming", "Social", "Bridge", "Exchange"}
    assert data.tx["hash"].is_unique
    assert not data.tt.duplicated(["transaction_hash", "log_index"]).any()


def test_blocks_times_receipts_and_logs_agree(data: Data) -> None:
    block = data.tx["block_number"].astype(np.int64)
    assert (data.ts == DEFAULT_START + (block - FIRST_BLOCK) * BLOCK_SECONDS).all()
    assert block.is_monotonic_increasing  # written in chain order
    assert (data.receipts["transaction_hash"] == data.tx["hash"]).all()
    assert (data.receipts["block_number"] == data.tx["block_number"]).all()
    # every token transfer belongs to a successful transaction of the same block
    status = dict(zip(data.receipts["transaction_hash"], data.receipts["status"], strict=True))
    blocks = dict(zip(data.tx["hash"], data.tx["block_number"], strict=True))
    assert data.tt["transaction_hash"].map(status).eq("1").all()
    assert (data.tt["transaction_hash"].map(blocks) == data.tt["block_number"]).all()
    failed = (data.receipts["status"] == "0").mean()
    assert 0.005 < failed < 0.05


def test_nonces_count_each_senders_transactions(data: Data) -> None:
    humans = set(data.labels["address"])
    mine = data.tx[data.tx["from_address"].isin(humans)]
    nonce = mine["nonce"].astype(np.int64)
    expected = mine.groupby("from_address").cumcount()
    assert (nonce.to_numpy() == expected.to_numpy()).all()


# ---- population and activity --------------------------------------------------------------------


def test_segment_shares_and_activity(data: Data) -> None:
    shares = data.labels["segment"].value_counts(normalize=True)
    for segment, share in (("power", 0.10), ("active", 0.60), ("passive", 0.30)):
        assert abs(shares[segment] - share) <= 0.02
    sent = data.labels["address"].map(data.tx["from_address"].value_counts()).fillna(0)
    median = sent.groupby(data.labels["segment"]).median()
    assert median["power"] > 4 * median["active"] > 4 * median["passive"]
    top = data.labels.loc[sent.nlargest(len(sent) // 10).index, "segment"]
    assert (top == "power").mean() >= 0.85  # the most active tenth is the power segment


def test_quiet_nights_and_weekend_peak(data: Data) -> None:
    hours = np.bincount((data.ts // 3600) % 24, minlength=24)
    assert hours[1:5].max() < 0.4 * hours[12:21].mean()
    days = (data.ts - DEFAULT_START) // 86400  # 28 days from a Monday: four of each weekday
    per_weekday = np.bincount(days % 7, minlength=7)
    assert per_weekday[5:].mean() > 1.15 * per_weekday[:5].mean()


def test_gas_price_drifts_and_fee_fields_fit(data: Data) -> None:
    price = data.tx["gas_price"].astype(float)
    daily = price.groupby(data.ts // 86400).median().to_numpy()
    assert daily.max() / daily.min() > 1.5  # it moves ...
    assert np.corrcoef(daily[:-1], daily[1:])[0, 1] > 0.5  # ... as a drift, not as noise
    eip1559 = data.tx["transaction_type"] == "2"
    assert 0.8 < eip1559.mean() < 0.95
    typed = data.tx[eip1559]
    assert (typed["max_fee_per_gas"].astype(float) >= typed["gas_price"].astype(float)).all()
    assert (data.tx.loc[~eip1559, "max_fee_per_gas"] == "").all()
    assert (data.receipts["effective_gas_price"] == data.tx["gas_price"]).all()


def test_amounts_are_heavy_tailed(data: Data) -> None:
    eth = data.tx["value"].astype(float) / 1e18
    eth = np.sort(eth[eth > 0].to_numpy())[::-1]
    assert eth[: len(eth) // 100].sum() > 0.2 * eth.sum()  # the top 1% moves over a fifth
    assert np.quantile(eth, 0.99) > 20 * np.median(eth)


def test_focus_axis_shows_in_contract_categories(data: Data) -> None:
    calls = data.tx_labels.assign(category=data.tx_labels["to_address"].map(data.category)).dropna(
        subset=["category"]
    )
    calls = calls[calls["category"] != "Exchange"]
    for focus, category in (("D", "DeFi"), ("N", "NFT"), ("G", "Gaming"), ("S", "Social")):
        shares = calls.loc[calls["focus"] == focus, "category"].value_counts(normalize=True)
        assert shares.index[0] == category and shares.iloc[0] > 0.5, (focus, shares.head(3).to_dict())


def test_risk_community_and_pattern_axes(data: Data) -> None:
    t = data.tx_labels
    created = dict(zip(data.contracts["address"], data.contracts["block_number"].astype(int), strict=True))
    young = t["to_address"].map(created).fillna(0) > FIRST_BLOCK - 30 * 86400 // BLOCK_SECONDS
    share = young.groupby(t["risk"]).mean()
    assert share["A"] > 5 * share["S"] and share["A"] > 0.08
    votes = (t["input"] == SELECTOR["vote"]).groupby(t["community"]).mean()
    assert votes["C"] > 10 * votes["I"]
    # within a segment, traders act more often and sell a larger part of their swaps
    active = data.labels[data.labels["segment"] == "active"]
    per_wallet = active["address"].map(data.tx["from_address"].value_counts()).fillna(0)
    mean = per_wallet.groupby(active["pattern"]).mean()
    assert mean["T"] > 1.8 * mean["H"]
    swaps = t[t["input"].isin([SELECTOR["swap_buy"], SELECTOR["swap_sell"]])]
    sells = (swaps["input"] == SELECTOR["swap_sell"]).groupby(swaps["pattern"]).mean()
    assert sells["T"] > sells["H"] + 0.2


def test_traders_resell_within_days_holders_hold(data: Data) -> None:
    """Holding time: from a swap out of a DEX pool to the next swap of that token back into one."""
    ts = dict(zip(data.tx["hash"], data.ts, strict=True))
    tt = data.tt.assign(ts=data.tt["transaction_hash"].map(ts))
    dex = data.contracts["name"].str.match(r"Swapline: .* Pool")
    pools = set(data.contracts.loc[dex, "address"])
    pattern = dict(zip(data.labels["address"], data.labels["pattern"], strict=True))
    buys = tt[tt["from_address"].isin(pools) & tt["to_address"].isin(pattern)]
    buys = buys.rename(columns={"to_address": "wallet"}).sort_values("ts")
    buys = buys[buys["ts"] < data.ts.max() - 5 * 86400]
    sells = tt[tt["to_address"].isin(pools) & tt["from_address"].isin(pattern)]
    sells = sells.rename(columns={"from_address": "wallet"}).sort_values("ts")
    sells = sells[["ts", "wallet", "token_address"]].assign(sold=sells["ts"])
    paired = pd.merge_asof(
        buys, sells, on="ts", by=["wallet", "token_address"], direction="forward", allow_exact_matches=False
    )
    soon = ((paired["sold"] - paired["ts"]) < 3 * 86400).groupby(paired["wallet"].map(pattern)).mean()
    assert soon["T"] > 0.6 and soon["H"] < 0.2, soon.to_dict()


def test_personas_set_the_axes(data: Data) -> None:
    lab = data.labels
    assert (
        lab["typology"] == lab["focus"] + "-" + lab["pattern"] + "-" + lab["risk"] + "-" + lab["community"]
    ).all()
    by = lab.groupby("persona")
    assert (by["focus"].agg(lambda s: (s == "N").mean())["nft_collector"]) > 0.75
    assert (by["community"].agg(lambda s: (s == "C").mean())["dao_member"]) > 0.85
    assert (by["pattern"].agg(lambda s: (s == "T").mean())["defi_trader"]) > 0.75
    assert (by["risk"].agg(lambda s: (s == "A").mean())["degen"]) > 0.85


# ---- campaign and laundering --------------------------------------------------------------------


def test_campaign_groups_and_conversions(data: Data) -> None:
    c = data.campaign
    assert len(c) == 1000  # half the wallets are targets
    assert (c["group"] == c["address"].map(lambda a: "treatment" if in_treatment(a) else "control")).all()
    assert 0.4 < (c["group"] == "treatment").mean() < 0.6
    rate = c["converted"].astype(int).groupby(c["group"]).mean()
    n = c["group"].value_counts()
    for group, expected in (("control", 0.1), ("treatment", 0.3)):
        sigma = np.sqrt(expected * (1 - expected) / n[group])
        assert abs(rate[group] - expected) < 4 * sigma, (group, rate[group])
    # converting = a call to the campaign contract after it starts, at the conversion time
    campaign = data.contracts.loc[data.contracts["name"].str.startswith("Quest Pass"), "address"].item()
    calls = data.tx[(data.tx["to_address"] == campaign)]
    start = DEFAULT_START + 14 * 86400
    assert (calls["block_timestamp"].astype(int) >= start).all()
    converted = c[c["converted"] == "1"]
    at = dict(zip(calls["from_address"], calls["block_timestamp"].astype(int), strict=True))
    assert set(at) == set(converted["address"])
    assert (converted["address"].map(at) == converted["converted_at"].astype(int)).all()
    assert (c.loc[c["converted"] == "0", "converted_at"] == "").all()


def test_laundering_labels(tmp_path: Path) -> None:
    share = 0.15
    generate(tmp_path, 1000, 14, seed=3, laundering_share=share, laundering=LaunderingParams(min_size=4))
    labels, patterns = read(tmp_path, "labels"), read(tmp_path, "laundering")
    members = labels[labels["laundering_id"] != ""]
    assert len(members) == round(share * 1000)
    assert set(patterns["laundering_type"]) == set(TYPES)
    sizes = patterns.set_index("laundering_id")["size"].astype(int)
    assert members.groupby("laundering_id").size().sort_index().equals(sizes.sort_index())
    assert (members["laundering_id"].str.split("-").str[0] == members["laundering_type"]).all()
    # camouflage: members keep their ordinary life (protocol calls) besides the pattern
    tx, contracts = read(tmp_path, "transactions"), read(tmp_path, "contracts")
    protocols = contracts.loc[~contracts["category"].isin(["Exchange"]) & (contracts["name"] != "Tether USD")]
    calls = tx[tx["to_address"].isin(protocols["address"])]
    busy = members[members["segment"] != "passive"]
    assert busy["address"].isin(calls["from_address"]).mean() > 0.9


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, 5, 7)
    with pytest.raises(ValueError):
        generate(tmp_path, 100, 0)
    with pytest.raises(ValueError):
        generate(tmp_path, 100, 7, laundering_share=0.9)
    with pytest.raises(ValueError):
        generate(tmp_path, 100, 7, campaign=True, campaign_params=CampaignParams(start_day=7))


def test_an_interrupted_run_leaves_no_partial_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("ingest.synth.tables.write_labels", fail)
    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path, 100, 2)
    assert list(tmp_path.iterdir()) == []  # nothing half-written that `ingest etl` could load


def test_writes_only_into_a_folder_without_other_csvs(tmp_path: Path) -> None:
    generate(tmp_path, 100, 2, campaign=True)
    generate(tmp_path, 100, 2)  # a rerun replaces its own files, the campaign's too
    assert not (tmp_path / "campaign.csv").exists()
    (tmp_path / "transactions_00001.csv").write_text("hash\n")
    with pytest.raises(FileExistsError, match="transactions_00001.csv"):
        generate(tmp_path, 100, 2)
