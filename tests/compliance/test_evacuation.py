"""Running moves at once: never more than a host's migration limit, failures reported per VM."""
import threading
import time

import pytest

from fabric.nodeops.planner import GiB, Move
from fabric.nodeops.scheduler import run_moves


def test_never_more_migrations_than_any_host_allows_and_all_run():
    moves = [Move(f"vm{i}", "n1", f"n{2 + i % 3}", (i + 1) * GiB) for i in range(9)]
    limits = {"n1": 2, "n2": 1, "n3": 2, "n4": 2}
    lock = threading.Lock()
    active: dict[str, int] = {}
    peak: dict[str, int] = {}

    def migrate(move):
        with lock:
            for host in (move.source, move.target):
                active[host] = active.get(host, 0) + 1
                peak[host] = max(peak.get(host, 0), active[host])
        time.sleep(0.02)
        with lock:
            for host in (move.source, move.target):
                active[host] -= 1

    outcomes = run_moves(moves, limits, migrate)
    assert sorted(o.move.vm for o in outcomes) == sorted(m.vm for m in moves)
    assert all(o.ok for o in outcomes)
    assert all(peak[h] <= limits[h] for h in peak), peak
    assert peak["n1"] == 2  # the source's slots were used in parallel, not one by one


def test_a_failed_move_is_reported_and_the_others_still_run():
    moves = [Move("good1", "n1", "n2", GiB), Move("bad", "n1", "n3", GiB), Move("good2", "n1", "n2", GiB)]

    def migrate(move):
        if move.vm == "bad":
            raise RuntimeError("The virtual machine bad is using processor-specific features not supported on n3")

    outcomes = {o.move.vm: o for o in run_moves(moves, {"n1": 2, "n2": 2, "n3": 2}, migrate)}
    assert outcomes["good1"].ok and outcomes["good2"].ok
    assert "processor-specific" in str(outcomes["bad"].error)


def test_stopping_before_a_move_waits_for_the_running_ones():
    started, finished = [], []

    def migrate(move):
        started.append(move.vm)
        time.sleep(0.05)
        finished.append(move.vm)

    def before(move):
        if move.vm == "vm3":
            raise KeyboardInterrupt("lease lost")

    moves = [Move(f"vm{i}", "n1", "n2", GiB) for i in range(1, 5)]
    with pytest.raises(KeyboardInterrupt):
        run_moves(moves, {"n1": 2, "n2": 2}, migrate, before_start=before)
    assert "vm3" not in started and sorted(finished) == sorted(started)


def test_a_queued_request_per_host_keeps_within_limit_plus_one():
    moves = [Move(f"vm{i}", "n1", "n2" if i % 2 else "n3", GiB) for i in range(8)]
    lock = threading.Lock()
    active, peak = {}, {}

    def migrate(move):
        with lock:
            for host in (move.source, move.target):
                active[host] = active.get(host, 0) + 1
                peak[host] = max(peak.get(host, 0), active[host])
        time.sleep(0.02)
        with lock:
            for host in (move.source, move.target):
                active[host] -= 1

    run_moves(moves, {"n1": 2, "n2": 2, "n3": 2}, migrate, queued=1)
    assert peak["n1"] == 3 and all(v <= 3 for v in peak.values())
