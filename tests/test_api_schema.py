"""schema.graphql is the schema the code serves: regenerate it with `aidrop api schema > schema.graphql`."""

from __future__ import annotations

import subprocess

from api.schema import schema_sdl
from tests.apiserver import AIDROP
from tests.conftest import ROOT


def test_schema_file_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == schema_sdl(), "schema.graphql drifted: run `aidrop api schema > schema.graphql`"


def test_schema_command_prints_it() -> None:
    out = subprocess.run(
        [AIDROP, "api", "schema"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out == schema_sdl()
    for needle in (
        "wallet(address: String!): Wallet",
        "wallets(filter: WalletFilter = null, first: Int! = 20, after: String = null): WalletConnection!",
        "topAnomalies(first: Int! = 20, model: String = null): [Wallet!]!",
        "analyzeWallet(address: String!, force: Boolean! = false): Job!",
        "ingestBlocks(from: Int!, to: Int!): Job!",
        "jobUpdates(id: ID!): Job!",
    ):
        assert needle in out, needle
