"""Settings from environment variables and an optional `.env` file, in one place."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Field(Path(".aidrop"), alias="AIDROP_DATA_DIR")
    # An external graph: falkor://host:port or redis://host:port (FalkorDB), bolt:// or neo4j://
    # is read from NEO4J_URI. Empty: the embedded FalkorDB under data_dir.
    graph_url: str = Field("", alias="AIDROP_GRAPH_URL")
    graph_name: str = Field("aidrop", alias="AIDROP_GRAPH_NAME")
    graph_backend: str = Field("", alias="AIDROP_GRAPH_BACKEND")
    embedded_port: int = Field(6390, alias="AIDROP_EMBEDDED_PORT", ge=1, le=65535)
    redis_url: str = Field("", alias="REDIS_URL")
    neo4j_uri: str = Field("", alias="NEO4J_URI")
    neo4j_user: str = Field("neo4j", alias="NEO4J_USER")
    neo4j_password: str = Field("", alias="NEO4J_PASSWORD")
    neo4j_database: str = Field("neo4j", alias="NEO4J_DATABASE")
    # The local Neo4j of `aidrop neo4j start` (graph/neo4j_server.py): Bolt port and JVM heap.
    neo4j_port: int = Field(7687, alias="AIDROP_NEO4J_PORT", ge=1, le=65535)
    neo4j_heap: str = Field("1g", alias="AIDROP_NEO4J_HEAP", pattern=r"^\d+[mMgG]$")
    batch_size: int = Field(20_000, alias="AIDROP_BATCH_SIZE", ge=1, le=1_000_000)
    # Key of the HMAC-SHA256 signature on alert webhooks (docs/compliance.md); empty: unsigned.
    webhook_secret: str = Field("", alias="AIDROP_WEBHOOK_SECRET", repr=False)

    # ---- API (`aidrop serve`), jobs (`aidrop worker`), profile images: docs/api.md ----
    serve_host: str = Field("127.0.0.1", alias="AIDROP_HOST")
    serve_port: int = Field(8000, alias="AIDROP_PORT", ge=1, le=65535)
    # Base of the URLs the API hands out for blobs in the local folder; empty: http://host:port.
    public_url: str = Field("", alias="AIDROP_PUBLIC_URL")
    # Comma-separated keys accepted in the API key header; mutations need one.
    api_keys: str = Field("", alias="AIDROP_API_KEYS", repr=False)
    api_key_header: str = Field("X-API-Key", alias="AIDROP_API_KEY_HEADER", min_length=1)
    read_auth: bool = Field(False, alias="AIDROP_READ_AUTH")  # reads need a key too
    max_depth: int = Field(12, alias="AIDROP_MAX_DEPTH", ge=2, le=100)
    max_tokens: int = Field(2_000, alias="AIDROP_MAX_TOKENS", ge=50, le=1_000_000)
    max_aliases: int = Field(30, alias="AIDROP_MAX_ALIASES", ge=1, le=10_000)
    max_page: int = Field(100, alias="AIDROP_MAX_PAGE", ge=1, le=10_000)
    # objects one operation may resolve, page sizes multiplied through nesting (api/safety.py); 0 off
    max_cost: int = Field(25_000, alias="AIDROP_MAX_COST", ge=0)
    max_batch: int = Field(1_000, alias="AIDROP_MAX_BATCH", ge=1, le=100_000)  # analyzeWallets addresses
    # The GraphQL fast path (api/fast_path.py): on only with the strawberry and graphql-core
    # versions it was built for; 0 forces strawberry's own path.
    fast_path: bool = Field(True, alias="AIDROP_FAST_PATH")
    max_body_bytes: int = Field(1_000_000, alias="AIDROP_MAX_BODY_BYTES", ge=1_000, le=100_000_000)
    # seconds one read of the API may run inside the database (QUERY_TIMEOUT past it); 0 off
    query_timeout: float = Field(10.0, alias="AIDROP_QUERY_TIMEOUT", ge=0, le=3600)
    max_list: int = Field(1_000, alias="AIDROP_MAX_LIST", ge=1, le=100_000)  # items in a list variable
    rate_limit: float = Field(50.0, alias="AIDROP_RATE_LIMIT", ge=0)  # requests/s per key (or IP); 0 off
    rate_burst: int = Field(200, alias="AIDROP_RATE_BURST", ge=1)
    # Proxies whose X-Forwarded-For/-Proto is believed (comma-separated IPs or CIDRs, `*` all);
    # empty: none, the client address is the connection's (the rate limit counts per address).
    trusted_proxies: str = Field("", alias="AIDROP_TRUSTED_PROXIES")
    job_max_tries: int = Field(5, alias="AIDROP_JOB_MAX_TRIES", ge=1, le=100)
    job_timeout: int = Field(300, alias="AIDROP_JOB_TIMEOUT", ge=1)  # seconds per try
    job_retry_base: float = Field(1.0, alias="AIDROP_JOB_RETRY_BASE", ge=0)  # s before the 2nd try, doubling
    job_ttl_days: float = Field(30.0, alias="AIDROP_JOB_TTL_DAYS", gt=0)  # job records kept this long
    worker_concurrency: int = Field(20, alias="AIDROP_WORKER_CONCURRENCY", ge=1, le=1_000)
    analysis_max_age: int = Field(3600, alias="AIDROP_ANALYSIS_MAX_AGE", ge=0)  # s an analysis is reused
    # the analysis of a wallet (ml/analyzer.py): a module with make_analyzer(settings); empty: the models
    analyzer: str = Field("", alias="AIDROP_ANALYZER")
    anomaly_model: str = Field("aidrop", alias="AIDROP_ANOMALY_MODEL")  # the jobs' anomaly model
    rpc_url: str = Field("", alias="AIDROP_RPC_URL")
    rpc_lookback: int = Field(10_000, alias="AIDROP_RPC_LOOKBACK", ge=1)  # blocks searched for a wallet
    blob_dir: Path | None = Field(None, alias="AIDROP_BLOB_DIR")  # default: data_dir / "blobs"
    s3_endpoint_url: str = Field("", alias="S3_ENDPOINT_URL")
    s3_bucket: str = Field("", alias="S3_BUCKET")
    s3_prefix: str = Field("aidrop/", alias="S3_PREFIX")
    s3_public_url: str = Field("", alias="S3_PUBLIC_URL")  # base of public object URLs (a CDN)
    s3_acl: str = Field("", alias="S3_ACL", pattern=r"^(|private|public-read)$")  # canned ACL of each object
    openai_api_key: str = Field("", alias="OPENAI_API_KEY", repr=False)
    openai_base_url: str = Field("", alias="OPENAI_BASE_URL")
    openai_image_model: str = Field("gpt-image-1", alias="AIDROP_IMAGE_MODEL", min_length=1)
    openai_image_size: str = Field("1024x1024", alias="AIDROP_IMAGE_SIZE", pattern=r"^(\d+x\d+|auto)$")

    @field_validator(
        "graph_url",
        "redis_url",
        "neo4j_uri",
        "public_url",
        "rpc_url",
        "s3_endpoint_url",
        "s3_public_url",
        "openai_base_url",
    )
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        if value and not urlparse(value).scheme:
            raise ValueError(f"not a URL (scheme://host:port expected): {value!r}")
        return value

    @field_validator("graph_backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("", "falkordb", "neo4j"):
            raise ValueError(f"AIDROP_GRAPH_BACKEND must be falkordb or neo4j, not {value!r}")
        return value

    @field_validator("s3_bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
            raise ValueError(f"not an S3 bucket name: {value!r}")
        return value

    @property
    def api_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())

    @property
    def blob_root(self) -> Path:
        return self.blob_dir if self.blob_dir is not None else self.data_dir / "blobs"

    @property
    def public_base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.serve_host in ("0.0.0.0", "::", "") else self.serve_host
        return f"http://{host}:{self.serve_port}"

    @property
    def backend(self) -> str:
        """The graph backend in use: neo4j when asked for, else FalkorDB."""
        if self.graph_backend:
            return self.graph_backend
        if self.graph_url.startswith(("bolt", "neo4j")):
            return "neo4j"
        return "falkordb"

    @property
    def embedded(self) -> bool:
        """True when aidrop runs its own FalkorDB (no external graph named)."""
        return self.backend == "falkordb" and not self.graph_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
