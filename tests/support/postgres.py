"""A real PostgreSQL server for the tests: ``initdb`` + ``pg_ctl`` in a temporary folder,
listening on 127.0.0.1 only, stopped at the end.

The binaries are looked up on PATH, then in Debian's versioned folders
(``/usr/lib/postgresql/<N>/bin``) or ``$MONITOR_PG_BIN``. PostgreSQL refuses to run as root:
when the tests run as root, the server runs as ``nobody`` (its folder handed over to that user).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg


def pg_bin() -> Path | None:
    """The folder of ``initdb``/``pg_ctl``, or None when no PostgreSQL is installed."""
    env = os.environ.get("MONITOR_PG_BIN")
    if env and (Path(env) / "initdb").exists():
        return Path(env)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    bin: Path
    data: Path

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL."""
        with psycopg.connect(host=self.host, port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def restart(self, down_for: float = 0.0) -> None:
        """Stop (fast: connections are cut), stay down ``down_for`` seconds, start again on the same port."""
        _run_as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], self.data)
        time.sleep(down_for)
        _start(self.bin, self.data)


def _as_owner() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


def _run_as_owner(cmd: list[str], folder: Path) -> None:
    done = subprocess.run([*_as_owner(), *cmd], capture_output=True, text=True, timeout=120, cwd=folder)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _start(bin_dir: Path, data: Path) -> None:
    _run_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-w", "-t", "60",
                   "start"], data)


@contextmanager
def postgres_server(folder: Path) -> Iterator[PostgresServer]:
    """Start a throwaway server under ``folder``; stops it (and it alone) when done."""
    bin_dir = pg_bin()
    if bin_dir is None:
        raise FileNotFoundError("no PostgreSQL binaries (initdb) found")
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        for parent in folder.parents:  # the server must be able to reach its folder
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o711)
    port = _free_port()
    _run_as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "monitor", "--auth=trust", "-E", "UTF8",
                   "--locale=C.UTF-8", "--no-sync"], folder)
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = ''\n"
                   "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n")
    _start(bin_dir, data)
    server = PostgresServer(host="127.0.0.1", port=port, user="monitor", bin=bin_dir, data=data)
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(host=server.host, port=port, user="monitor", dbname="postgres").close()
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        yield server
    finally:
        subprocess.run([*_as_owner(), str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60, cwd=folder)
