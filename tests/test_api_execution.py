"""The direct execution path (api/execution.py) and the lean resolvers (api/resolvers.py) answer
exactly what strawberry's own path answers, on a graph stub that answers at once."""

from __future__ import annotations

import gc
from typing import Annotated, Any

import pytest
import strawberry
from strawberry.types.graphql import OperationType

from api.context import Context, Services
from api.execution import execute_direct
from api.resolvers import lean_resolvers
from api.safety import code_error
from api.schema import build_schema
from core.settings import Settings
from graph import cypher as q
from graph.store import GraphStore

KNOWN = "0x" + "ab" * 20
PLAIN = "0x" + "cd" * 20  # a wallet without analysis
POST = frozenset({OperationType.QUERY, OperationType.MUTATION})


ANALYSED = {
    "typology": "D-T-A-C",
    "typology_axes": '{"focus": {"D": 0.9}}',
    "cluster": 3,
    "cluster_profile": '{"size": 4}',
    "anomaly_score": 0.5,
    "anomaly_rank": 7,
    "anomaly_flagged": True,
    "anomaly_explanation": '[{"factor": "fan_in", "contribution": 0.2}]',
    "profile_image": "img/a.svg",
}
STATS = {"in_degree": 3, "out_degree": 4, "in_tx": 3, "out_tx": 5, "in_counterparties": 2,
         "out_counterparties": 3, "in_value": 1.5, "out_value": 2.5, "first_in": 10, "last_in": 20,
         "first_out": 5, "last_out": 30}  # fmt: skip


class Store(GraphStore):
    """A graph of two wallets answering the two statements a wallet query needs (and no other)."""

    backend = "falkordb"

    async def execute(self, statement: Any, params: dict[str, Any] | None = None) -> Any:
        raise AssertionError(f"unexpected write {statement.name}")

    async def ensure_schema(self) -> None: ...

    async def clear(self) -> None: ...

    async def close(self) -> None: ...

    async def query(self, statement: Any, params: dict[str, Any] | None = None) -> list[dict]:
        found = [a for a in (params or {}).get("addresses", []) if a in (KNOWN, PLAIN)]
        if statement is q.WALLETS_BY_ADDRESS:
            return [
                {"address": a, "labels": ["Wallet"], "props": ANALYSED if a == KNOWN else {}} for a in found
            ]
        if statement is q.FAN_BY_ADDRESS:
            return [{"address": a, **STATS} for a in found]
        raise AssertionError(f"unexpected statement {statement.name}")


class Blobs:
    def url(self, key: str) -> str:
        return "http://blobs/" + key


def _context() -> Context:
    services = Services(Settings(), Store(), Blobs(), None, None)  # type: ignore[arg-type]
    return Context(services, None, None, None, False)


def _answer(result: Any) -> tuple[Any, list[dict]]:
    return result.data, [code_error(e).formatted for e in result.errors or ()]


WALLET = """query($a: String!) { wallet(address: $a) {
  address labels category name symbol analyzedAt ppr
  typology { code axes { axis value probability } } cluster { id version profile }
  anomaly { score rank flagged model version explanation { factor contribution } }
  profile { imageUrl metadataUrl source }
  stats { inDegree outDegree inTx outTx fanIn fanOut inValue outValue firstSeen lastSeen firstIn lastOut }
} }"""

CASES: list[tuple[str, dict[str, Any] | None, str | None]] = [
    (WALLET, {"a": KNOWN}, None),
    (WALLET, {"a": PLAIN}, None),
    (WALLET, {"a": KNOWN.upper().replace("0X", "0x")}, None),
    (WALLET, {"a": "0x" + "ef" * 20}, None),  # NOT_FOUND
    (WALLET, {"a": "nope"}, None),  # INVALID_ADDRESS
    (WALLET, {}, None),  # a missing variable
    (
        "query($a: String!) { x: wallet(address: $a) { address s: stats { fanIn } } "
        "y: wallet(address: $a) { ...W } } fragment W on Wallet { typology { code } stats { fanOut } }",
        {"a": KNOWN},
        None,
    ),  # fmt: skip
    (
        "query($a: String!, $t: Boolean!) { wallet(address: $a) { address typology @include(if: $t) { code } "
        "stats @skip(if: $t) { fanIn } } }",
        {"a": KNOWN, "t": True},
        None,
    ),  # fmt: skip
    (
        "query($a: String!, $t: Boolean!) { wallet(address: $a) { address typology @include(if: $t) { code } "
        "stats @skip(if: $t) { fanIn } } }",
        {"a": KNOWN, "t": False},
        None,
    ),  # fmt: skip
    ('query A { wallet(address: "' + KNOWN + '") { address } } query B { __typename }', None, "B"),
    ('query A { wallet(address: "' + KNOWN + '") { address } } query B { __typename }', None, "A"),
    ("{ __schema { queryType { name } } }", None, None),
]


@pytest.mark.parametrize("query, variables, name", CASES)
async def test_direct_path_answers_like_strawberry(
    query: str, variables: dict[str, Any] | None, name: str | None
) -> None:
    schema = build_schema()
    for _ in range(2):  # the second time from the caches
        direct = await execute_direct(schema, query, variables, _context(), name, POST)
        assert direct is not None
        plain = await schema.execute(query, variables, _context(), operation_name=name)
        assert _answer(direct) == _answer(plain)


@pytest.mark.parametrize(
    "query, name",
    [
        ("{ wallet(address: 1) { address } }", None),  # not valid
        ("{ wallet(address: ", None),  # not GraphQL
        ("query A { __typename } query B { __typename }", None),  # which one?
        ("query A { __typename }", "C"),  # no such operation
        ('subscription { jobUpdates(id: "1") { id } }', None),  # not over a JSON POST
    ],
)
async def test_direct_path_leaves_the_rest_to_strawberry(query: str, name: str | None) -> None:
    assert await execute_direct(build_schema(), query, None, _context(), name, POST) is None


async def test_lean_resolvers_rename_arguments_and_pass_info() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def shifted(
            self,
            info: strawberry.Info,
            from_: Annotated[int, strawberry.argument(name="from")] = 1,
            by: int | None = None,
        ) -> str:
            return f"{from_ + (by or 0)} {info.field_name}"

        @strawberry.field
        async def later(self, text: str) -> str:
            return text.upper()

        @strawberry.field
        def maybe(self, text: strawberry.Maybe[str]) -> str:  # strawberry wraps it: not lean
            return repr(text)

    schema = strawberry.Schema(query=Query)
    assert lean_resolvers(schema) == 2
    result = await schema.execute('{ shifted(from: 2, by: 3) a: shifted later(text: "x") maybe(text: "y") }')
    assert result.errors is None
    assert result.data == {"shifted": "5 shifted", "a": "1 shifted", "later": "X", "maybe": "Some('y')"}


async def test_a_wallet_query_leaves_no_garbage_for_the_cyclic_collector() -> None:
    schema = build_schema()
    await execute_direct(schema, WALLET, {"a": KNOWN}, _context(), None, POST)  # caches filled
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(5):
            result = await execute_direct(schema, WALLET, {"a": KNOWN}, _context(), None, POST)
            assert result is not None and result.errors is None
        del result
        gc.collect()
        left = sorted({type(o).__name__ for o in gc.garbage})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []
