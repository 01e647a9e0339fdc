"""Profile images through the external services' paths: blobs in S3 (moto's server mode, over HTTP)
and pictures from the OpenAI images API (a local fake server reached through `base_url`),
including the image API failing for a while (retries with backoff) and for good (a failed job
that says why)."""

from __future__ import annotations

import base64
import json
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import requests

from tests.apiserver import Stack, stack
from tests.conftest import free_port
from tests.factories import addr
from tests.test_api_e2e import ANALYZE, load

BUCKET = "aidrop-test"


def tiny_png(rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    raw = b"\x00" + bytes(rgb) * 2
    header = (2).to_bytes(4, "big") + (1).to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"  # 2x1 RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


class FakeOpenAI:
    """POST /v1/images/generations like the OpenAI API; `fail` requests answer 503 first."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail = 0
        self.png = tiny_png((200, 30, 90))
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                if fake.fail > 0:
                    fake.fail -= 1
                    self._send(503, {"error": {"message": "overloaded", "type": "server_error"}})
                    return
                b64 = base64.b64encode(fake.png).decode()
                self._send(200, {"created": int(time.time()), "data": [{"b64_json": b64}]})

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test",
                      region_name="us-east-1")  # fmt: skip
    s3.create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


@pytest.fixture(scope="module")
def openai_fake() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    yield fake
    fake.server.shutdown()


@pytest.fixture(scope="module")
async def api(
    falkor_server, tmp_path_factory, moto_url: str, openai_fake: FakeOpenAI
) -> AsyncIterator[Stack]:
    env = {
        "S3_ENDPOINT_URL": moto_url,
        "S3_BUCKET": BUCKET,
        "S3_PREFIX": "wallets",
        "S3_ACL": "public-read",  # the URLs handed out are fetched anonymously
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "OPENAI_API_KEY": "sk-test-123",
        "OPENAI_BASE_URL": openai_fake.url,
        "AIDROP_IMAGE_MODEL": "gpt-image-1",
        "AIDROP_IMAGE_SIZE": "512x512",
        "AIDROP_JOB_MAX_TRIES": "4",
    }
    with stack(falkor_server, tmp_path_factory.mktemp("images"), env) as s:
        await load(s)
        yield s


PROFILE = """query($a: String!) { wallet(address: $a) {
  typology { code } cluster { id } profile { imageUrl metadataUrl source } } }"""


def test_openai_picture_stored_in_s3(api: Stack, moto_url: str, openai_fake: FakeOpenAI) -> None:
    address = addr(5)
    job = api.data(ANALYZE, {"a": address})["analyzeWallet"]
    assert api.wait_jobs([job["id"]])[job["id"]]["status"] == "COMPLETED"
    w = api.data(PROFILE, {"a": address})["wallet"]
    profile = w["profile"]
    assert profile["source"] == "openai"
    assert profile["imageUrl"].startswith(f"{moto_url}/{BUCKET}/wallets/profiles/{address}/")
    assert profile["imageUrl"].endswith(".png") and profile["metadataUrl"].endswith(".json")

    sent = openai_fake.requests[-1]
    assert sent["path"] == "/v1/images/generations" and sent["auth"] == "Bearer sk-test-123"
    assert sent["model"] == "gpt-image-1" and sent["size"] == "512x512" and sent["n"] == 1
    assert "wallet" in sent["prompt"] and "no text" in sent["prompt"]

    s3 = boto3.client("s3", endpoint_url=moto_url, aws_access_key_id="test", aws_secret_access_key="test",
                      region_name="us-east-1")  # fmt: skip
    key = profile["imageUrl"].split(f"/{BUCKET}/", 1)[1]
    stored = s3.get_object(Bucket=BUCKET, Key=key)
    assert stored["Body"].read() == openai_fake.png and stored["ContentType"] == "image/png"
    assert requests.get(profile["imageUrl"], timeout=10).content == openai_fake.png
    meta_key = profile["metadataUrl"].split(f"/{BUCKET}/", 1)[1]
    meta = json.loads(s3.get_object(Bucket=BUCKET, Key=meta_key)["Body"].read())
    assert meta["image"] == profile["imageUrl"] and meta["properties"]["image_source"] == "openai"
    traits = {a["trait_type"]: a["value"] for a in meta["attributes"]}
    assert traits["typology"] == w["typology"]["code"] and traits["cluster"] == str(w["cluster"]["id"])
    # nothing went to the local blob folder
    assert not (api.tmp / "data" / "blobs").exists()

    # the same prompt again: no second picture is paid for
    calls = len(openai_fake.requests)
    again = api.data(ANALYZE, {"a": address, "f": True})["analyzeWallet"]
    assert api.wait_jobs([again["id"]])[again["id"]]["status"] == "COMPLETED"
    assert len(openai_fake.requests) == calls
    assert api.data(PROFILE, {"a": address})["wallet"]["profile"]["imageUrl"] == profile["imageUrl"]


def test_image_api_down_for_a_while_is_retried(api: Stack, openai_fake: FakeOpenAI) -> None:
    openai_fake.fail = 2
    job = api.data(ANALYZE, {"a": addr(6)})["analyzeWallet"]
    done = api.wait_jobs([job["id"]])[job["id"]]
    assert done["status"] == "COMPLETED" and done["attempts"] == 3, done
    assert api.data(PROFILE, {"a": addr(6)})["wallet"]["profile"]["source"] == "openai"


def test_image_api_down_for_good_fails_the_job_with_its_reason(api: Stack, openai_fake: FakeOpenAI) -> None:
    openai_fake.fail = 100
    try:
        job = api.data(ANALYZE, {"a": addr(8)})["analyzeWallet"]
        done = api.wait_jobs([job["id"]])[job["id"]]
    finally:
        openai_fake.fail = 0
    assert done["status"] == "FAILED" and done["attempts"] == 4
    assert done["errorCode"] == "IMAGE_API_UNAVAILABLE"
    assert "OpenAI images API unavailable" in done["error"] and "gave up after 4 tries" in done["error"]
    assert "Traceback" not in done["error"]
    # the wallet was not half-written
    assert api.data(PROFILE, {"a": addr(8)})["wallet"]["profile"] is None
