"""The local Neo4j: Neo4j 5.26 Community with GDS and APOC, assembled from Maven Central by
tools/neo4j (pom.xml + a small launcher) and run by aidrop on loopback, with its files under
AIDROP_DATA_DIR/neo4j. `aidrop neo4j start|stop|status`; the tests start one per session.

The launcher is built on first use (`mvn compile`: a few hundred MB into ~/.m2 the first time);
a stamp of pom.xml and the launcher's source decides when to build again. The password of the
user `neo4j` is generated once and kept in AIDROP_DATA_DIR/neo4j/password (0600).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import EmbeddedServerError
from core.settings import Settings, get_settings
from graph.embedded import HOST, _pid_alive, _port_taken

TOOLS = Path(__file__).resolve().parents[1] / "tools" / "neo4j"
USER = "neo4j"
MIN_JAVA = 17
# What Neo4j 5 and GDS reach into on Java 17+ (Neo4j's own launcher passes the same kind).
JAVA_FLAGS = [
    *(
        f"--add-opens=java.base/{pkg}=ALL-UNNAMED"
        for pkg in (
            "java.lang",
            "java.lang.invoke",
            "java.io",
            "java.net",
            "java.nio",
            "java.util",
            "java.util.concurrent",
            "sun.nio.ch",
            "jdk.internal.misc",
            "jdk.internal.ref",
        )
    ),
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
]
Progress = Callable[[str], None]


class Neo4jMissing(EmbeddedServerError):
    """Java 17+ or Maven is not installed: the local Neo4j cannot be built."""

    code = "NEO4J_TOOLS_MISSING"


@dataclass(frozen=True)
class Neo4jStatus:
    running: bool
    pid: int | None
    port: int
    home: Path
    uri: str
    user: str
    password: str
    healthy: bool

    def to_dict(self) -> dict[str, object]:
        d = {**self.__dict__, "home": str(self.home)}
        d.pop("password")
        return d

    def env_lines(self) -> str:
        """`export NEO4J_URI=...` (USER, PASSWORD) lines a shell can eval: exported, so the
        commands run after `eval "$(aidrop neo4j start)"` see them."""
        pairs = (("NEO4J_URI", self.uri), ("NEO4J_USER", self.user), ("NEO4J_PASSWORD", self.password))
        return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in pairs)


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home and (Path(home) / "bin" / "java").exists() else None
    java = java or shutil.which("java")
    hint = "install OpenJDK 17 or 21 (Debian: apt-get install openjdk-17-jdk-headless maven), or run Neo4j with `docker compose up -d neo4j`"  # noqa: E501
    if not java:
        raise Neo4jMissing(f"the local Neo4j needs Java {MIN_JAVA}+ and none was found: {hint}")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    major = int(match.group(2)) if match and major == 1 and match.group(2) else major
    if major < MIN_JAVA:
        raise Neo4jMissing(f"the local Neo4j needs Java {MIN_JAVA}+, {java} is Java {major or '?'}: {hint}")
    return java


def _maven() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise Neo4jMissing(
            "the local Neo4j is built with Maven, which is not installed (Debian: apt-get install maven); "
            "or run Neo4j with `docker compose up -d neo4j`"
        )
    return mvn


class LocalNeo4j:
    """One embedded Neo4j per data directory, on HOST:port."""

    def __init__(self, data_dir: Path, port: int, heap: str = "1g", tools: Path = TOOLS) -> None:
        self.home = Path(data_dir).resolve() / "neo4j"
        self.port = port
        self.heap = heap
        self.tools = tools
        self.pid_file = self.home / "neo4j.pid"
        self.ready_file = self.home / "ready"
        self.password_file = self.home / "password"
        self.log_file = self.home / "launcher.log"
        self.last_import_s = 0.0

    @property
    def uri(self) -> str:
        return f"bolt://{HOST}:{self.port}"

    # ---- build -------------------------------------------------------------------------
    def _stamp(self) -> str:
        h = hashlib.sha256()
        for path in [self.tools / "pom.xml", *sorted((self.tools / "src").rglob("*.java"))]:
            h.update(path.read_bytes())
        return h.hexdigest()

    def built(self) -> bool:
        stamp = self.tools / "target" / "aidrop-build.stamp"
        return stamp.exists() and stamp.read_text() == self._stamp()

    def build(self, progress: Progress | None = None) -> None:
        """`mvn compile` of tools/neo4j (the launcher and its dependencies) unless up to date."""
        if self.built():
            return
        mvn = _maven()
        _java()
        (self.tools / "target").mkdir(exist_ok=True)
        with open(self.tools / "target" / ".build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same tree
            if self.built():
                return
            if progress:
                progress(
                    "building the local Neo4j launcher (first use: Neo4j, GDS and APOC from Maven Central "
                    "into ~/.m2, a few hundred MB)..."
                )
            started = time.monotonic()
            proc = subprocess.Popen(
                [mvn, "-B", "-f", str(self.tools / "pom.xml"), "compile"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            tail: list[str] = []
            downloaded = 0
            assert proc.stdout is not None
            for line in proc.stdout:
                tail = (tail + [line.rstrip()])[-30:]
                if "Downloaded from" in line:
                    downloaded += 1
                    if progress and downloaded % 50 == 0:
                        progress(f"  {downloaded} artifacts downloaded ({time.monotonic() - started:.0f} s)")
            if proc.wait() != 0:
                raise EmbeddedServerError("building tools/neo4j failed (mvn compile):\n" + "\n".join(tail))
            (self.tools / "target" / "aidrop-build.stamp").write_text(self._stamp())
            if progress:
                progress(f"built in {time.monotonic() - started:.0f} s")

    # ---- run ---------------------------------------------------------------------------
    def password(self) -> str:
        """The generated password of user neo4j (created 0600 on first call)."""
        if not self.password_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(24))
        return self.password_file.read_text().strip()

    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def _ready(self) -> bool:
        try:
            return self.ready_file.read_text().strip() == str(self.port)
        except OSError:
            return False

    def _answers(self) -> bool:
        from neo4j import GraphDatabase
        from neo4j.exceptions import Neo4jError, ServiceUnavailable

        try:
            with GraphDatabase.driver(self.uri, auth=(USER, self.password()), connection_timeout=5) as d:
                d.verify_connectivity()
        except (ServiceUnavailable, Neo4jError, OSError):
            return False
        return True

    def status(self) -> Neo4jStatus:
        pid = self._pid()
        healthy = pid is not None and self._ready() and self._answers()
        password = self.password_file.read_text().strip() if self.password_file.exists() else ""
        return Neo4jStatus(pid is not None, pid, self.port, self.home, self.uri, USER, password, healthy)

    def start(self, timeout: float = 600.0, progress: Progress | None = None) -> Neo4jStatus:
        """Build if needed, start unless this data directory's server runs, wait until Bolt answers
        with GDS and APOC registered."""
        current = self.status()
        if current.healthy:
            return current
        if current.running:
            running_port = self.ready_file.read_text().strip() if self.ready_file.exists() else "?"
            if running_port not in ("?", str(self.port)):
                raise EmbeddedServerError(
                    f"the local Neo4j of {self.home} runs on port {running_port}, not {self.port}: "
                    "`aidrop neo4j stop` first, or set AIDROP_NEO4J_PORT"
                )
            return self._wait(current.pid, timeout, progress)
        if _port_taken(self.port):
            raise EmbeddedServerError(
                f"port {self.port} on {HOST} is taken by another process; "
                "stop it or choose another port with AIDROP_NEO4J_PORT"
            )
        self.build(progress)
        java = _java()
        password = self.password()
        self.home.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            self.ready_file.unlink()
        args = [
            java,
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            *JAVA_FLAGS,
            "-cp",
            self._classpath(),
            "aidrop.neo4j.Launcher",
            str(self.home),
            str(self.port),
            str(self.password_file),
        ]
        if progress:
            progress(f"starting Neo4j on {self.uri} (heap {self.heap}), data in {self.home}...")
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        del password
        return self._wait(proc.pid, timeout, progress, proc)

    def _wait(
        self, pid: int | None, timeout: float, progress: Progress | None, proc: subprocess.Popen | None = None
    ) -> Neo4jStatus:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if proc is not None and proc.poll() is not None:
                raise EmbeddedServerError(self._why(f"the launcher exited with code {proc.returncode}"))
            if proc is None and pid is not None and not _pid_alive(pid):
                raise EmbeddedServerError(self._why("the launcher stopped"))
            if self._ready():
                status = self.status()
                if status.healthy:
                    if progress:
                        progress(f"Neo4j ready in {time.monotonic() - started:.0f} s")
                    return status
            time.sleep(0.2)
        raise EmbeddedServerError(self._why(f"Neo4j did not answer within {timeout:.0f} s"))

    def _why(self, what: str) -> str:
        log = ""
        with contextlib.suppress(OSError):
            log = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-12:])
        return f"the local Neo4j on {self.uri} did not start: {what}; {self.log_file}:\n{log}"

    def _classpath(self) -> str:
        target = self.tools / "target"
        return f"{target / 'classes'}{os.pathsep}{target / 'dependency' / '*'}"

    def import_export(self, export_dir: Path, progress: Progress | None = None) -> Neo4jStatus:
        """Replace the database with an `aidrop graph export neo4j-admin` folder through Neo4j's
        own importer (`neo4j-admin database import full`, from the same Maven build), stopping
        the server for it and starting it again."""
        from graph.export import WALLETS_FILE, importer_args

        export_dir = Path(export_dir).resolve()
        if not (export_dir / WALLETS_FILE).exists():
            raise FileNotFoundError(
                f"{export_dir} holds no {WALLETS_FILE}: run `aidrop graph export neo4j-admin` first"
            )
        self.build(progress)
        java = _java()
        if self.stop() and progress:
            progress("stopped Neo4j for the import")
        self.home.mkdir(parents=True, exist_ok=True)
        args = [java, f"-Xmx{self.heap}", *JAVA_FLAGS, "-cp", self._classpath(), "org.neo4j.cli.AdminTool",
                *importer_args(export_dir, overwrite=True)]  # fmt: skip
        args.insert(-1, f"--report-file={self.home / 'import.report'}")  # not into the caller's folder
        env = {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.home)}
        if progress:
            progress(f"importing {export_dir} with neo4j-admin database import full...")
        started = time.monotonic()
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        tail: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            tail = (tail + [line.rstrip()])[-40:]
            if progress and line.strip() and ("%" in line or "IMPORT DONE" in line or "Imported:" in line):
                progress("  " + line.strip())
        if proc.wait() != 0:
            raise EmbeddedServerError("neo4j-admin database import failed:\n" + "\n".join(tail))
        self.last_import_s = time.monotonic() - started  # the importer alone (bench/backends.py)
        return self.start(progress=progress)

    def stop(self, timeout: float = 60.0) -> bool:
        """Shut down cleanly (SIGTERM: Neo4j checkpoints); False when nothing ran."""
        pid = self._pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # started by this process: reap it
            time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for path in (self.pid_file, self.ready_file):
            with contextlib.suppress(OSError):
                path.unlink()
        return True


def local_neo4j(settings: Settings | None = None) -> LocalNeo4j:
    s = settings or get_settings()
    return LocalNeo4j(s.data_dir, s.neo4j_port, s.neo4j_heap)
