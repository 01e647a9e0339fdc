"""docker-compose.yml: Neo4j 5 with GDS and APOC, Redis 7, MinIO, and the API and worker wired
to them with every setting aidrop reads for its graph and queue."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read docker-compose.yml")

ROOT = Path(__file__).resolve().parents[1]
INTERPOLATION = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")
APP_SERVICES = ("api", "worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def resolved(value: str) -> str:
    """A compose value with ${VAR:-default} taken at its default (what a bare `up` gets) and a
    required ${VAR:?message} as `<VAR>` (a bare `up` stops with the message)."""

    def one(m: re.Match[str]) -> str:
        return f"<{m.group(1)}>" if m.group(2) == "?" else (m.group(3) or "")

    return INTERPOLATION.sub(one, str(value)).replace("$$", "$")


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: resolved(v) for k, v in env.items()}


def graph_and_queue_settings() -> set[str]:
    """Environment variables core/settings.py reads for Neo4j, Redis and the backend choice."""
    names = {f.alias for f in Settings.model_fields.values() if f.alias}
    return {n for n in names if n.startswith(("NEO4J_", "REDIS_"))} | {"AIDROP_GRAPH_BACKEND"}


def test_services(compose: dict[str, Any]) -> None:
    assert {"neo4j", "redis", "minio", "api", "worker"} <= set(compose["services"])


def test_neo4j(compose: dict[str, Any]) -> None:
    neo4j = compose["services"]["neo4j"]
    assert neo4j["image"].startswith("neo4j:5")
    assert {"7474:7474", "7687:7687"} <= {str(p) for p in neo4j["ports"]}
    env = environment(neo4j)
    assert set(json.loads(env["NEO4J_PLUGINS"])) == {"apoc", "graph-data-science"}
    assert env["NEO4J_AUTH"].startswith("neo4j/") and len(env["NEO4J_AUTH"]) >= len("neo4j/") + 8
    assert any(v.endswith(":/data") for v in neo4j["volumes"])
    assert "cypher-shell" in " ".join(neo4j["healthcheck"]["test"])


def test_neo4j_is_the_version_the_tests_run(compose: dict[str, Any]) -> None:
    pom = (ROOT / "tools" / "neo4j" / "pom.xml").read_text()
    version = re.search(r"<neo4j.version>([^<]+)</neo4j.version>", pom).group(1)  # type: ignore[union-attr]
    assert compose["services"]["neo4j"]["image"] == f"neo4j:{version}-community"
    assert re.search(r"<apoc.version>([^<]+)</apoc.version>", pom).group(1) == version  # type: ignore[union-attr]


def test_redis_and_minio(compose: dict[str, Any]) -> None:
    services = compose["services"]
    redis = services["redis"]
    assert redis["image"].startswith("redis:7")
    assert "ports" not in redis  # the queue is not reachable from outside the compose network
    assert "--requirepass" in " ".join(redis["command"])
    assert environment(redis)["REDIS_PASSWORD"] == "<REDIS_PASSWORD>"  # required: no default
    assert "REDISCLI_AUTH" in " ".join(redis["healthcheck"]["test"])
    minio = services["minio"]
    assert minio["image"].startswith("minio/minio")
    assert {"9000:9000", "9001:9001"} <= {str(p) for p in minio["ports"]}
    assert ":9001" in minio["command"]  # the console
    assert "healthcheck" in minio


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_env(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    env = environment(service)
    wanted = graph_and_queue_settings() | {
        "S3_ENDPOINT_URL",
        "S3_BUCKET",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    }
    assert {"NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "REDIS_URL"} <= wanted
    missing = wanted - set(env)
    assert not missing, f"{name} does not set {sorted(missing)}"
    assert env["AIDROP_GRAPH_BACKEND"] == "neo4j"
    assert env["NEO4J_URI"] == "bolt://neo4j:7687"
    assert env["REDIS_URL"] == "redis://:<REDIS_PASSWORD>@redis:6379/0"
    assert env["S3_ENDPOINT_URL"] == "http://minio:9000"

    settings = Settings(**{k: v for k, v in env.items() if k in graph_and_queue_settings()})
    assert (settings.backend, settings.neo4j_uri, settings.redis_url) == (
        "neo4j",
        "bolt://neo4j:7687",
        "redis://:<REDIS_PASSWORD>@redis:6379/0",
    )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_credentials_match(compose: dict[str, Any], name: str) -> None:
    services = compose["services"]
    env = environment(services[name])
    assert environment(services["neo4j"])["NEO4J_AUTH"] == f"{env['NEO4J_USER']}/{env['NEO4J_PASSWORD']}"
    minio = environment(services["minio"])
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
        minio["MINIO_ROOT_USER"],
        minio["MINIO_ROOT_PASSWORD"],
    )
    assert environment(services["minio-bucket"])["S3_BUCKET"] == env["S3_BUCKET"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_take_keys_and_publish_images(compose: dict[str, Any], name: str) -> None:
    """Mutations need a key, so a bare `up` gets one; images are read by browsers at the public URL,
    which the bucket job opens for download."""
    services = compose["services"]
    env = environment(services[name])
    settings = Settings(
        **{k: v for k, v in env.items() if k in {"AIDROP_API_KEYS", "S3_PUBLIC_URL", "S3_BUCKET"}}
    )
    assert settings.api_key_set
    assert settings.s3_public_url.startswith("http://localhost:9000/")
    assert settings.s3_public_url.endswith("/" + env["S3_BUCKET"])
    bucket_job = " ".join(services["minio-bucket"]["command"])
    assert "mc anonymous set download" in bucket_job


@pytest.mark.parametrize(("name", "command"), [("api", "serve"), ("worker", "worker")])
def test_app_services_build_the_image(compose: dict[str, Any], name: str, command: str) -> None:
    service = compose["services"][name]
    assert service["build"] in (".", {"context": "."})
    assert service["command"][:2] == ["aidrop", command]
    depends = service["depends_on"]
    assert depends["neo4j"]["condition"] == depends["redis"]["condition"] == "service_healthy"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)
    assert "pip install -c constraints.txt ." in dockerfile  # the versions the tests passed with
