"""Blob storage for profile images and their NFT metadata: any S3 endpoint through boto3, or (the
embedded default) a local folder that `aidrop serve` serves under /blobs/.

Keys are relative paths ("profiles/0xabc....svg"); `url(key)` is the public URL handed to clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import AidropError

if TYPE_CHECKING:
    from core.settings import Settings

KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,255}")
CONTENT_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",  # campaign reports (ml/marketing/report.py)
}
LOCAL_PREFIX = "/blobs/"


class BlobError(AidropError):
    code = "BLOB_STORE"


class BlobUnavailable(BlobError, ConnectionError):
    """The store did not answer (transient: a job retries)."""

    code = "BLOB_STORE_UNAVAILABLE"


def check_key(key: str) -> str:
    if not KEY_RE.fullmatch(key) or ".." in key.split("/") or "//" in key:
        raise BlobError(f"invalid blob key {key!r}")
    return key


def guess_type(key: str) -> str:
    return CONTENT_TYPES.get(Path(key).suffix.lower(), "application/octet-stream")


class BlobStore(ABC):
    kind: str

    @abstractmethod
    async def put(self, key: str, data: bytes, content_type: str | None = None) -> str:
        """Store `data` under `key`; its public URL."""

    @abstractmethod
    async def get(self, key: str) -> bytes: ...

    @abstractmethod
    def url(self, key: str) -> str: ...

    async def ping(self) -> bool:
        return True


class LocalBlobStore(BlobStore):
    kind = "local"

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str | None = None) -> str:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # write then rename: a reader never sees half a file
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return self.url(key)

    async def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as exc:
            raise BlobError(f"no blob {key!r}") from exc

    def url(self, key: str) -> str:
        return f"{self.base_url}{LOCAL_PREFIX}{check_key(key)}"


class S3BlobStore(BlobStore):
    """Objects in `bucket` under `prefix`, through boto3 (credentials from the usual AWS variables)."""

    kind = "s3"

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str = "", public_url: str = "",
                 acl: str = "", client: Any = None) -> None:  # fmt: skip
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.acl = acl
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url.rstrip("/")
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=20
            ),
        )
        if public_url:
            self.public_url = public_url.rstrip("/")
        elif self.endpoint_url:
            self.public_url = f"{self.endpoint_url}/{bucket}"
        else:
            self.public_url = f"https://{bucket}.s3.amazonaws.com"

    def object_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def _call(self, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

        try:
            return await asyncio.to_thread(fn, **kwargs)
        except (EndpointConnectionError, ConnectionError, OSError) as exc:
            raise BlobUnavailable(f"S3 endpoint unreachable: {exc}") from exc
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status >= 500 or status == 429:
                raise BlobUnavailable(f"S3 answered {status}: {exc}") from exc
            raise BlobError(f"S3 refused: {exc}") from exc
        except BotoCoreError as exc:
            raise BlobUnavailable(f"S3 error: {exc}") from exc

    async def put(self, key: str, data: bytes, content_type: str | None = None) -> str:
        extra = {"ACL": self.acl} if self.acl else {}
        await self._call(
            self.client.put_object,
            Bucket=self.bucket,
            Key=self.object_key(key),
            Body=data,
            ContentType=content_type or guess_type(key),
            CacheControl="public, max-age=300",
            **extra,
        )
        return self.url(key)

    async def get(self, key: str) -> bytes:
        result = await self._call(self.client.get_object, Bucket=self.bucket, Key=self.object_key(key))
        return await asyncio.to_thread(result["Body"].read)

    def url(self, key: str) -> str:
        return f"{self.public_url}/{self.object_key(key)}"

    async def ping(self) -> bool:
        await self._call(self.client.head_bucket, Bucket=self.bucket)
        return True


def open_blobs(settings: Settings | None = None) -> BlobStore:
    """S3 when S3_BUCKET is set, else the local folder (AIDROP_BLOB_DIR or data_dir/blobs)."""
    from core.settings import get_settings

    s = settings or get_settings()
    if s.s3_bucket:
        return S3BlobStore(s.s3_bucket, s.s3_prefix, s.s3_endpoint_url, s.s3_public_url, s.s3_acl)
    return LocalBlobStore(s.blob_root, s.public_base_url)
