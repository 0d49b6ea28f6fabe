"""The consumers connected to this process, and the doorbells they have heard.

`notify(job, seq)` may be called from any thread (a view's on_commit, the watcher thread, a job
run inline); it rings the interested consumers on their own event loop, with one call per loop (not
one per consumer), and hands them to that loop's sender (jobs.live.fanout). `generation` counts the
distinct changes this process has heard, so list and indicator renders can be shared between
consumers that want the same state."""
import threading

from jobs import conf
from jobs.live import trace

ALL = "*"

_lock = threading.Lock()
_subscribers: dict[object, set] = {}
_latest: dict[int, int] = {}
generation = 0


def observe(job_id: int, seq: int) -> int:
    """Record a doorbell; returns the generation this process is at afterwards."""
    global generation
    with _lock:
        if seq > _latest.get(job_id, -1):
            _latest[job_id] = seq
            generation += 1
            if len(_latest) > 10000:
                _latest.clear()
        return generation


def current_generation() -> int:
    return generation


def subscribe(consumer, *keys) -> None:
    with _lock:
        for key in keys:
            _subscribers.setdefault(key, set()).add(consumer)
    if conf.watch_seconds() > 0:
        from jobs.live.watcher import ensure_started

        ensure_started()


def unsubscribe(consumer) -> None:
    with _lock:
        for members in _subscribers.values():
            members.discard(consumer)


def has_subscribers() -> bool:
    with _lock:
        return any(_subscribers.values())


def notify(job_id: int, seq: int) -> None:
    trace.mark(job_id, seq, "arrived")
    gen = observe(job_id, seq)
    with _lock:
        targets = set(_subscribers.get(job_id, ())) | set(_subscribers.get(ALL, ()))
    by_loop: dict = {}
    for consumer in targets:
        by_loop.setdefault(consumer.loop, []).append(consumer)
    for loop, consumers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_ring, loop, consumers, job_id, seq, gen)
        except RuntimeError:  # their event loop is gone
            for consumer in consumers:
                unsubscribe(consumer)


def _ring(loop, consumers, job_id: int, seq: int, gen: int) -> None:
    """On the consumers' loop."""
    from jobs.live import fanout

    sender = fanout.for_loop(loop)
    for consumer in consumers:
        consumer.ring(job_id, seq, gen)
        sender.mark(consumer)
