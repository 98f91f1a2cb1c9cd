"""A throwaway PostgreSQL server for the tests: Debian's ``postgresql`` package, a cluster
made by ``initdb`` in a temporary folder, listening on a free loopback port and on a unix
socket in that folder, stopped and removed at the end.

initdb and postgres refuse to run as root: as root, the cluster belongs to the ``postgres``
system user made by the Debian package (else ``nobody``) and its programs run through
``runuser``. The server trusts local connections (loopback only): fsync is off, the data
are thrown away.

A missing PostgreSQL is an error with what to do (``make postgres``), never a skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

SUPERUSER = "carto"
INSTALL_HINT = (
    "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run `make postgres` "
    "(apt-get install -y postgresql), as `make test` does"
)


class PostgresMissing(RuntimeError):
    """Debian's postgresql package is not installed."""


def binaries() -> Path:
    """The newest installed server's bin folder."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if not found:
        raise PostgresMissing(INSTALL_HINT)
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> tuple[list[str], str | None]:
    if os.getuid() != 0:
        return [], None
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--"], user
    raise RuntimeError("running as root without a postgres or nobody user to run PostgreSQL")


class TemporaryPostgres:
    """One server; ``database()`` makes an empty database and returns its URL."""

    def __init__(self) -> None:
        self.bin = binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="carto-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._prefix, user = _run_as()
        if user is not None:
            shutil.chown(self.folder, user)
        self._started = False

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._prefix, *args], capture_output=True, text=True, check=False, timeout=120
        )
        if done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}\n{tail}")

    def start(self) -> TemporaryPostgres:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-instructions",
        )
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        )
        self._started = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new empty database; its ``postgresql://`` URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self._started:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
            self._started = False
        shutil.rmtree(self.folder, ignore_errors=True)
