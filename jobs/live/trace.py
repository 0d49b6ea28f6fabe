"""Where the time of a live update goes inside a web process, for the event benchmark.

Off unless FERRY_LIVE_TRACE names a directory. Then each web process notes, per job and seq, when the
doorbell arrived, when its render started and ended, and when its first and last frame went out (and
how many), and rewrites `<dir>/live-<pid>.json` once a second. Wall-clock times (time.time()), so
they compare with the worker's commit and the viewers' arrival in other processes.
"""
import json
import os
import threading
import time
from pathlib import Path

_directory = os.environ.get("FERRY_LIVE_TRACE", "")
on = bool(_directory)
_marks: dict[str, dict] = {}
_lock = threading.Lock()
_writer: threading.Thread | None = None


def mark(job_id: int, seq: int, stage: str) -> None:
    """The first time this process reached `stage` for the job's `seq`."""
    if not on:
        return
    now = time.time()
    with _lock:
        _marks.setdefault(f"{job_id}:{seq}", {}).setdefault(stage, now)
    _ensure_writer()


def sent(job_id: int, seq: int, frames: int = 1) -> None:
    """Frames bringing viewers to the job's `seq` went out: keeps the first and last time, and counts them."""
    if not on:
        return
    now = time.time()
    with _lock:
        entry = _marks.setdefault(f"{job_id}:{seq}", {})
        entry.setdefault("first_sent", now)
        entry["last_sent"] = now
        entry["frames"] = entry.get("frames", 0) + frames
    _ensure_writer()


def _ensure_writer() -> None:
    global _writer
    if _writer is None:
        _writer = threading.Thread(target=_write_forever, name="ferry-live-trace", daemon=True)
        _writer.start()


def _write_forever() -> None:
    path = Path(_directory) / f"live-{os.getpid()}.json"
    while True:
        time.sleep(1.0)
        with _lock:
            text = json.dumps(_marks)
        path.with_suffix(".tmp").write_text(text)
        path.with_suffix(".tmp").replace(path)
