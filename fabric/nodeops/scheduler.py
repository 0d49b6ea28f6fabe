"""Running a set of live migrations at once without exceeding any host's simultaneous-migration limit.

The plan (fabric.nodeops.planner) says where each VM goes; this runs the moves. Every move holds one
migration slot on its source and one on its target while it runs (Hyper-V's
MaximumVirtualMachineMigrations counts both directions). Moves start in the order given — largest
first keeps the slots of the busiest host full and ends on the short ones — and a move whose
source or target is full waits while later moves that fit go ahead.

With `queued=1` one more request per host is kept outstanding than the host runs: Hyper-V queues
live migrations beyond MaximumVirtualMachineMigrations and starts the next one the moment a slot
frees, which hides each request's own round trip. The hosts never run more than their limit.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

from fabric.nodeops.planner import Move


@dataclass
class MoveOutcome:
    move: Move
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_moves(
    moves: Iterable[Move],
    limits: dict[str, int],
    migrate: Callable[[Move], object],
    *,
    before_start: Callable[[Move], None] | None = None,
    on_finish: Callable[[MoveOutcome], None] | None = None,
    queued: int = 0,
) -> list[MoveOutcome]:
    """Run `migrate(move)` for every move, as many at once as the hosts' limits allow.

    `before_start` runs in the calling thread before each move starts (check the job's lease
    there: an exception it raises stops new moves, waits for the running ones and propagates).
    `on_finish` also runs in the calling thread. A failed move does not stop the others.
    """
    pending = list(moves)
    if not pending:
        return []
    busy: Counter[str] = Counter()
    outcomes: list[MoveOutcome] = []
    def room(host: str) -> int:
        return max(1, limits.get(host, 1)) + queued

    width = max(1, min(len(pending), sum(room(h) for h in limits) or len(pending)))
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="ferry-migration") as pool:
        running = {}
        try:
            while pending or running:
                for move in list(pending):
                    if busy[move.source] < room(move.source) and busy[move.target] < room(move.target):
                        if before_start is not None:
                            before_start(move)
                        busy[move.source] += 1
                        busy[move.target] += 1
                        running[pool.submit(migrate, move)] = move
                        pending.remove(move)
                if not running:  # cannot happen with limits >= 1; never spin
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    move = running.pop(future)
                    busy[move.source] -= 1
                    busy[move.target] -= 1
                    outcome = MoveOutcome(move, future.exception())
                    outcomes.append(outcome)
                    if on_finish is not None:
                        on_finish(outcome)
        except BaseException:
            for future in list(running):
                future.cancel()
            wait(running)  # never leave a migration running unobserved
            raise
    return outcomes
