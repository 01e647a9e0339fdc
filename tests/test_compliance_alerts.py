"""Watchlists and alerts: rules evaluated on the transfers ingestion writes (both backends), signed
webhooks with retries, and the acceptance run: `aidrop ingest rpc --follow` on anvil with a watched
wallet gives one alert on the `alerts` subscription and one signed webhook call within 2 s, and a
receiver killed and restarted gets the alert it missed, once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from websockets.sync.client import connect

from graph import watch as gw
from graph.falkor import FalkorStore
from graph.labels import Label, write_labels
from graph.store import GraphStore
from ingest.alerts import Deliverer, ExposureSums, Monitor, parse_rules, read_flows
from ml.exposure import refresh_exposure
from tests.apiserver import AIDROP, KEY, stack
from tests.conftest import free_port
from tests.evm.node import E18, Anvil
from tests.factories import addr, transfers

pytest_plugins = ["tests.evm.fixtures"]
SECRET = "test-webhook-secret"
W, R, M = 1, 2, 3  # watched wallet, a risky wallet, a mixer


async def test_rules_fire_once_per_event(any_store: GraphStore) -> None:
    await write_labels(any_store, [Label(addr(R), "sanctioned one", "sanctioned", "ofac"),
                                   Label(addr(M), "mixer", "mixer", "test")])  # fmt: skip
    rules = parse_rules(["any", "value>5", "labelled:sanctioned", "exposure:mixer>0.4", "anomaly"])
    await gw.add_watches(any_store, [addr(W)], rules)
    monitor = Monitor(any_store)

    async def ingest(rows: list[tuple]) -> list[gw.Alert]:
        frame = transfers(rows)
        await any_store.write_transfers(frame)
        return await monitor(frame)

    first = await ingest([(10, W, 1, 1.0, 100), (11, 12, 2, 9.0, 101)])  # one of W's, one not
    assert [a.rule for a in first] == ["any"]
    second = await ingest([(R, W, 3, 6.0, 102), (R, W, 4, 1.0, 103)])  # the first from a sanctioned wallet
    assert sorted(a.rule for a in second) == ["any", "any", "labelled:sanctioned", "value>5"]
    labelled = next(a for a in second if a.rule.startswith("labelled"))
    assert labelled.detail["counterparty"] == addr(R) and labelled.status == "new"
    third = await ingest([(M, W, 5, 2.0, 104)])  # mixer: 2 of 10 received, below 0.4
    assert sorted(a.rule for a in third) == ["any"]
    fourth = await ingest([(M, W, 6, 5.0, 105)])  # 7 of 15: crosses 0.4 once
    assert sorted(a.rule for a in fourth) == ["any", "exposure:mixer>0.4"]
    assert next(a for a in fourth if a.rule != "any").detail["share"] == pytest.approx(7 / 15)
    assert [a.rule for a in await ingest([(M, W, 7, 1.0, 106)])] == ["any"]  # still above: no new crossing
    # the same transfers evaluated again (a re-run of the range) add nothing
    assert await monitor(transfers([(R, W, 3, 6.0, 102), (M, W, 6, 5.0, 105)])) == []
    await any_store.execute(_FLAG, {"address": addr(W)})
    changed = await ingest([(13, W, 8, 0.5, 107)])
    assert sorted(a.rule for a in changed) == ["anomaly", "any"]
    history = await gw.alert_page(any_store, address=addr(W), first=100)
    assert len(history) == 11 and [a.seq for a in history] == sorted((a.seq for a in history), reverse=True)


_FLAG = gw.q.Statement("test_flag", "MATCH (w:Wallet {address: $address}) SET w.anomaly_flagged = true")


async def test_exposure_rule_reads_stored_exposure_of_counterparties(any_store: GraphStore) -> None:
    await any_store.write_transfers(transfers([(M, 20, 1, 4.0, 100), (30, 20, 2, 4.0, 101)]))
    await write_labels(any_store, [Label(addr(M), "mixer", "mixer", "test")])
    await refresh_exposure(any_store)  # wallet 20: half its funds from the mixer
    await gw.add_watches(any_store, [addr(W)], parse_rules(["exposure>0.2"]))
    alerts = await Monitor(any_store)(await _written(any_store, [(20, W, 3, 1.0, 102), (31, W, 4, 1.0, 103)]))
    assert [(a.rule, a.detail["share"]) for a in alerts] == [("exposure>0.2", pytest.approx(0.25))]


async def test_exposure_sums_kept_from_batches_equal_a_full_read(any_store: GraphStore) -> None:
    await write_labels(any_store, [Label(addr(M), "mixer", "mixer", "test")])
    sums = ExposureSums(any_store)
    batches = [
        [(M, W, 1, 2.0, 100), (10, W, 2, 6.0, 101)],
        [(W, M, 3, 1.0, 102), (W, 11, 4, 3.0, 103), (M, 12, 5, 9.0, 104)],
        [(M, W, 6, 4.0, 105)],
    ]
    for rows in [*batches, batches[1]]:  # the last one again: a re-run of a block range
        frame = await _written(any_store, rows)
        props = {r["address"]: r["props"] for r in await any_store.query(gw.q.WALLETS_BY_ADDRESS, {
            "addresses": sorted(set(frame["from_address"]) | set(frame["to_address"]))})}  # fmt: skip
        kept = await sums.shares([addr(W)], frame.to_dict("records"), props)
    whole = (await read_flows(any_store, [addr(W)]))[addr(W)]
    assert sums.flows[addr(W)].total == pytest.approx(whole.total) == {"in": 12.0, "out": 4.0}
    assert sums.flows[addr(W)].risky == whole.risky == {"in": {"mixer": 6.0}, "out": {"mixer": 1.0}}
    assert kept[addr(W)] == pytest.approx(whole.shares()) == {"mixer": 6 / 12}


async def _written(store: GraphStore, rows: list[tuple]) -> Any:
    frame = transfers(rows)
    await store.write_transfers(frame)
    return frame


def test_bad_rules_and_watches_are_refused() -> None:
    with pytest.raises(gw.WatchError, match="unknown rule 'value<3'"):
        parse_rules(["value<3"])
    with pytest.raises(gw.WatchError, match="between 0 and 1"):
        parse_rules(["exposure>2"])
    assert parse_rules(None) == ["any"]


# ---- a webhook receiver on 127.0.0.1 that checks the signature -----------------------------------------
class Receiver:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.calls: list[tuple[float, dict[str, Any]]] = []
        self.bad_signatures = 0
        self.runner: web.AppRunner | None = None

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Aidrop-Signature", ""), expected):
            self.bad_signatures += 1
            return web.Response(status=401)
        payload = json.loads(body)
        assert request.headers["X-Aidrop-Alert-Id"] == payload["id"]
        self.calls.append((time.time(), payload))
        return web.Response(text="ok")

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


async def test_webhook_retries_until_the_receiver_is_back(any_store: GraphStore) -> None:
    receiver = Receiver()  # not started yet: connections are refused
    await gw.add_watches(any_store, [addr(W)], ["any"], receiver.url)
    deliverer = await Deliverer(any_store, SECRET, base=0.1, cap=0.4).start()
    try:
        alerts = await Monitor(any_store, deliverer)(await _written(any_store, [(5, W, 1, 1.0, 100)]))
        assert len(alerts) == 1 and alerts[0].status == "pending"
        deadline = time.monotonic() + 10  # retries 0.1 s apart; a loaded Neo4j takes a while per write
        while (stored := (await gw.alert_page(any_store))[0]).attempts < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert stored.status == "pending" and stored.attempts >= 2 and "Connect" in (stored.last_error or "")
        await receiver.start()
        assert await deliverer.drain(5) == 0
        await asyncio.sleep(0.5)
        assert [p["id"] for _, p in receiver.calls] == [alerts[0].id] and receiver.bad_signatures == 0
        assert (await gw.alert_page(any_store))[0].status == "delivered"
    finally:
        await deliverer.close()
        await receiver.stop()


# ---- acceptance: follow mode, the subscription and the webhook -------------------------------------------
ALERTS_SUB = "subscription { alerts { id address rule status detail } }"
WATCH_ADD = """mutation($a: [String!]!, $h: String) { watchAdd(addresses: $a, rules: ["any"], webhook: $h) {
  id address rules webhook } }"""
ALERTS = "query { alerts(first: 10) { id status attempts address } }"
WALLET = """query($a: String!) { wallet(address: $a) {
  attributions { label category source confidence verified }
  exposure { direct indirect directIn risk byCategory { category share } paths { wallets value } } } }"""


def _subscribe(ws: Any) -> Any:
    ws.send(json.dumps({"type": "connection_init", "payload": {"X-API-Key": KEY}}))
    assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
    ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": ALERTS_SUB}}))
    return ws


def _next_alert(ws: Any, timeout: float) -> tuple[float, dict[str, Any]] | None:
    try:
        message = json.loads(ws.recv(timeout=timeout))
    except TimeoutError:
        return None
    assert message["type"] == "next", message
    return time.time(), message["payload"]["data"]["alerts"]


def _caught_up(api: Any, address: str, timeout: float = 60) -> None:
    """Wait until the follower has started and written the wallet."""
    deadline = time.monotonic() + timeout
    while api.gql("query($a: String!) { wallet(address: $a) { address } }", {"a": address}).get("errors"):
        assert time.monotonic() < deadline, "the follower did not catch up"
        time.sleep(0.1)
    time.sleep(0.3)


def _confirmed(node: Anvil, src: str, dst: str, wei: int) -> float:
    node.send_eth(src, dst, wei)  # returns once mined: confirmed with --confirmations 0
    return time.time()


async def test_follow_mode_alert_on_subscription_and_signed_webhook(
    anvil: Anvil, falkor_server: Any, tmp_path: Path
) -> None:
    a0, watched = anvil.accounts[0], anvil.accounts[7]
    receiver = await Receiver().start()
    env = {"AIDROP_WEBHOOK_SECRET": SECRET}
    with stack(falkor_server, tmp_path, env, workers=0) as api:
        api.data(WATCH_ADD, {"a": [watched], "h": receiver.url})
        log = open(tmp_path / "follow.log", "wb")  # noqa: SIM115
        follow = subprocess.Popen(
            [AIDROP, "ingest", "rpc", "--rpc-url", anvil.url, "--follow", "--poll", "0.1", "--no-labels"],
            env={**api.env, **env}, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        ws = _subscribe(
            connect(
                api.url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"]
            ).__enter__()
        )
        try:
            anvil.send_eth(a0, anvil.accounts[1], E18)  # not watched
            _caught_up(api, anvil.accounts[1])
            t0 = _confirmed(anvil, a0, watched, 2 * E18)
            got = _next_alert(ws, 5)
            assert got is not None, (tmp_path / "follow.log").read_text()
            at, alert = got
            assert alert["address"] == watched and alert["rule"] == "any"
            assert alert["detail"]["transfer"]["value"] == 2.0
            assert at - t0 <= 2.0, f"alert {at - t0:.2f} s after the block"
            deadline = time.time() + 2.5
            while not receiver.calls and time.time() < deadline:
                await asyncio.sleep(0.02)
            assert [p["id"] for _, p in receiver.calls] == [alert["id"]] and receiver.bad_signatures == 0
            assert receiver.calls[0][0] - t0 <= 2.0, (
                f"webhook {receiver.calls[0][0] - t0:.2f} s after the block"
            )
            assert _next_alert(ws, 1.0) is None  # exactly one

            # the receiver dies; an alert raised meanwhile reaches it once it is back
            port = receiver.port
            await receiver.stop()
            t1 = _confirmed(anvil, anvil.accounts[2], watched, E18)
            got = _next_alert(ws, 5)
            assert got is not None and got[0] - t1 <= 2.0
            missed = got[1]["id"]
            await asyncio.sleep(1.5)  # a few failed attempts
            pending = {a["id"]: a for a in api.data(ALERTS)["alerts"]}[missed]
            assert pending["status"] == "pending" and pending["attempts"] >= 1
            receiver = Receiver(port)
            receiver.calls.clear()
            await receiver.start()
            deadline = time.time() + 10
            while not receiver.calls and time.time() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)  # no second delivery
            assert [p["id"] for _, p in receiver.calls] == [missed] and receiver.bad_signatures == 0
            states = {a["id"]: a["status"] for a in api.data(ALERTS)["alerts"]}
            assert states == {alert["id"]: "delivered", missed: "delivered"}

            # the same wallet's labels and exposure over the API
            store = FalkorStore(falkor_server.graph_url, api.graph)
            await write_labels(store, [Label(a0, "test sanctioned", "sanctioned", "ofac", 0.9)])
            await refresh_exposure(store)
            await store.close()
            got = api.data(WALLET, {"a": watched})["wallet"]
            assert got["exposure"]["directIn"] == pytest.approx(2 / 3) and got["exposure"]["indirect"] == 0.0
            assert got["exposure"]["byCategory"] == [
                {"category": "sanctioned", "share": pytest.approx(2 / 3)}
            ]
            assert got["exposure"]["paths"] == [{"wallets": [a0, watched], "value": pytest.approx(2.0)}]
            source = api.data(WALLET, {"a": a0})["wallet"]
            expected = {"label": "test sanctioned", "category": "sanctioned", "source": "ofac"}
            assert source["attributions"] == [{**expected, "confidence": 0.9, "verified": True}]
            assert source["exposure"]["risk"] == 1.0
        finally:
            ws.close()
            follow.send_signal(signal.SIGINT)
            try:
                follow.wait(20)
            except subprocess.TimeoutExpired:
                follow.kill()
            log.close()
            await receiver.stop()
    assert follow.returncode == 0, (tmp_path / "follow.log").read_text()
    assert os.path.exists(tmp_path / "follow.log")


async def test_a_running_monitor_sees_changed_and_removed_watches(any_store: GraphStore) -> None:
    monitor = Monitor(any_store)
    await gw.add_watches(any_store, [addr(W)], ["any"])
    assert len(await monitor(await _written(any_store, [(5, W, 1, 1.0, 100)]))) == 1
    await gw.add_watches(any_store, [addr(W)], ["value>100"])  # the same watch, new rules
    assert await monitor(await _written(any_store, [(5, W, 2, 1.0, 101)])) == []
    assert await gw.remove_watches(any_store, [addr(W)]) == 1
    assert await monitor(await _written(any_store, [(5, W, 3, 500.0, 102)])) == []


async def test_a_running_monitor_sees_labels_written_after_it_started(any_store: GraphStore) -> None:
    await gw.add_watches(any_store, [addr(W)], ["labelled:mixer"])
    monitor = Monitor(any_store)
    assert await monitor(await _written(any_store, [(M, W, 1, 1.0, 100)])) == []  # M not labelled yet
    await write_labels(any_store, [Label(addr(M), "mixer", "mixer", "test")])
    alerts = await monitor(await _written(any_store, [(M, W, 2, 1.0, 101)]))
    assert [(a.rule, a.detail["counterparty"]) for a in alerts] == [("labelled:mixer", addr(M))]


async def test_alerts_raised_again_are_not_returned_as_new(any_store: GraphStore) -> None:
    await gw.add_watches(any_store, [addr(W)], ["any"])
    first = await Monitor(any_store)(await _written(any_store, [(5, W, 1, 1.0, 100)]))
    # another monitor (a restart) evaluates that transfer again with a new one: only the new alert
    again = await Monitor(any_store)(await _written(any_store, [(5, W, 1, 1.0, 100), (6, W, 2, 1.0, 101)]))
    assert len(first) == 1 and [a.detail["transfer"]["from"] for a in again] == [addr(6)]
    stored = await gw.alert_page(any_store, address=addr(W))
    assert len(stored) == 2 and {a.id for a in stored} == {first[0].id, again[0].id}
