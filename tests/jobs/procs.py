"""Starting real Ferry processes (qcluster, daphne) against a given database for the job tests."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parents[2]


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL pointing other processes at the database this test uses."""
    engine = settings_dict["ENGINE"]
    if engine.endswith(("sqlite3", "sqlite")):
        return f"sqlite:///{settings_dict['NAME']}"
    if engine.endswith("postgresql"):
        user = quote(settings_dict.get("USER") or "")
        password = f":{quote(settings_dict['PASSWORD'])}" if settings_dict.get("PASSWORD") else ""
        auth = f"{user}{password}@" if user else ""
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{auth}{settings_dict.get('HOST') or '127.0.0.1'}{port}/{settings_dict['NAME']}"
    raise ValueError(f"No URL for {engine}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """Starts processes in their own session (so kill -9 takes the workers with the sentinel)."""

    def __init__(self, log_dir: Path, env: dict):
        self.log_dir = log_dir
        self.env = env
        self.started: list[subprocess.Popen] = []

    def logs(self) -> str:
        """The end of every started process's log."""
        return "\n".join(self.tail(proc) for proc in self.started)

    def _start(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        out = open(self.log_dir / f"{name}-{len(self.started)}.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, *args], cwd=BASE_DIR, env={**self.env, **(env or {})},
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        proc.log_path = out.name
        out.close()
        self.started.append(proc)
        return proc

    def qcluster(self, env: dict | None = None) -> subprocess.Popen:
        return self._start("qcluster", ["manage.py", "qcluster"], env)

    def daphne(self, env: dict | None = None) -> tuple[subprocess.Popen, int]:
        port = free_port()
        proc = self._start("daphne", ["-m", "config.web", "-b", "127.0.0.1", "-p", str(port)], env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"daphne exited:\n{self.tail(proc)}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return proc, port
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"daphne did not listen on {port}:\n{self.tail(proc)}")

    def manage(self, *args: str, env: dict | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE_DIR, env={**self.env, **(env or {})},
            capture_output=True, text=True, timeout=120,
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    @staticmethod
    def kill9(proc: subprocess.Popen) -> None:
        """kill -9 the process and every process it started (the q2 sentinel and its workers)."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)

    def group_of(self, pid: int) -> subprocess.Popen | None:
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            return None
        return next((p for p in self.started if p.pid == group and p.poll() is None), None)

    @staticmethod
    def tail(proc: subprocess.Popen, lines: int = 40) -> str:
        text = Path(proc.log_path).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 1
        for proc in self.started:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill9(proc)  # a test does not wait for a graceful q2 shutdown


def fast_env(**overrides) -> dict:
    from tests.jobs.conftest import FAST

    env = {f"FERRY_JOBS_{k}": str(v) for k, v in FAST.items()}
    env.update({"FERRY_WORKERS": "2", "PYTHONUNBUFFERED": "1"})
    env.update({k: str(v) for k, v in overrides.items()})
    return env
