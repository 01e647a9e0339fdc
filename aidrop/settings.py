"""Settings from environment variables and an optional `.env` file, in one place."""

from __future__ import annotations

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
    batch_size: int = Field(20_000, alias="AIDROP_BATCH_SIZE", ge=1, le=1_000_000)

    @field_validator("graph_url", "redis_url", "neo4j_uri")
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
