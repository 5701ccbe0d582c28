"""Real processes for the operations tests: gunicorn, Celery workers and a Redis server of their own."""

import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from tests.conftest import ROOT, _database_url, free_port


def app_env(**overrides: str) -> dict[str, str]:
    """The environment of a process of the app against the test database and the test broker."""
    broker = {}
    if not settings.REDIS_URL:
        broker["CELERY_BROKER_DIR"] = str(Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).parent)
    return {
        **broker,
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DEBUG": "false",
        "HTTPS": "false",
        "SECRET_KEY": "ops-tests-not-a-secret",
        "ALLOWED_HOSTS": "127.0.0.1",
        # Root's "don't run a worker as root" notice is not a log line.
        "PYTHONWARNINGS": "ignore",
        **overrides,
    }


def with_static_files(tmp_path: Path) -> dict[str, str]:
    """The environment for processes that serve pages: static files collected as in production
    (hashed names and a manifest, which pages need with DEBUG off) into a folder of the test's own."""
    env = {"BAZGASHT_VAR_DIR": str(tmp_path / "var")}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity=0"],
        cwd=ROOT, env=app_env(**env), check=True,
    )  # fmt: skip
    return env


@dataclass
class Web:
    port: int
    process: subprocess.Popen[bytes]

    def request(
        self, method: str, path: str, *, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) of one request; a non-JSON body comes back as {"text": ...}."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            sent = {"Content-Type": "application/json", **(headers or {})}
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, {"text": raw.decode(errors="replace")}


@contextmanager
def gunicorn(tmp_path: Path, **env: str) -> Iterator[Web]:
    """`gunicorn config.wsgi` with two workers on a free port, until the block ends."""
    port = free_port()
    log = tmp_path / f"gunicorn-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT, env=app_env(**env), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        web = Web(port, process)
        try:
            _wait_for_port(port, process, log)
            yield web
        finally:
            _stop(process)
            print(log.read_text(errors="replace")[-10_000:])  # shown only when the test failed


@contextmanager
def celery_worker_process(tmp_path: Path, *args: str, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A Celery worker (options in `args`, e.g. "-B" or "--concurrency=2"); its output goes to the file returned."""
    log = tmp_path / f"worker-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "--quiet", "worker", "--loglevel=INFO",
             f"--schedule={tmp_path / 'beat-schedule'}", "--without-mingle", "--without-gossip", *args],
            cwd=ROOT, env=app_env(**env), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield process, log
        finally:
            _stop(process)
            print(log.read_text(errors="replace")[-20_000:])


class RedisServer:
    """A Redis of the test's own on a free port, without persistence (a restart empties it), to stop and start."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.folder = tmp_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is needed (apt-get install redis-server)"
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait_for_port(self.port, self.process, None)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path | None, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the process exited ({process.returncode}): {log.read_text() if log else ''}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.connect()
            connection.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class PostgresServer:
    """A PostgreSQL cluster of the test's own (initdb) on a free port, to stop and start: the
    suite's shared server cannot be restarted. Run as the postgres user when the tests run as root."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        assert found or shutil.which("initdb"), "initdb is needed (apt-get install postgresql)"
        self.bin = found[-1].parent if found else Path(str(shutil.which("initdb"))).parent
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="bazgasht-pg-"))
        self.data = self.folder / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="postgres")
            self.as_user = [str(shutil.which("runuser")), "-u", "postgres", "--"]

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / command[0]), *command[1:]], check=True, capture_output=True)

    def create(self, database: str) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", database)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
