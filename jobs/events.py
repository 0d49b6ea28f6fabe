"""Every change to a job bumps its `seq` in the same transaction; after commit a doorbell rings.

The doorbell carries `{"job": id, "seq": n}` and nothing else: whoever hears it reads the database.
It goes to the consumers of this process directly (jobs.live.hub) and, when the channel layer
reaches other processes (Redis), to the groups "job-<id>" and "jobs" from one sender thread that
keeps its event loop and connections (an `async_to_sync` per message would build both each time).
A lost doorbell is harmless: each web process also watches the database (jobs.live.watcher).
"""
import asyncio
import logging
import os
import queue
import threading

from django.db import connection, transaction

logger = logging.getLogger("ferry.jobs")

JOBS_GROUP = "jobs"


def job_group(job_id: int) -> str:
    return f"job-{job_id}"


def _bump_sql(plan: bool, progress: bool) -> str:
    now = (
        "STRFTIME('%%Y-%%m-%%d %%H:%%M:%%f', 'NOW')" if connection.vendor == "sqlite" else "STATEMENT_TIMESTAMP()"
    )
    extra = (", plan_seq = seq + 1" if plan else "") + (", progress = %s" if progress else "")
    return f"UPDATE jobs_job SET seq = seq + 1, changed_at = {now}{extra} WHERE id = %s RETURNING seq"


def bump(job_id: int, *, plan: bool = False, progress: int | None = None) -> int:
    """Give the job its next seq inside the caller's transaction (and its progress, if given);
    ring after commit. Returns the seq."""
    if not connection.in_atomic_block:
        raise RuntimeError("bump() must run inside the transaction that makes the change")
    params = [job_id] if progress is None else [progress, job_id]
    with connection.cursor() as cursor:
        cursor.execute(_bump_sql(plan, progress is not None), params)
        row = cursor.fetchone()
    if row is None:
        raise LookupError(f"Job {job_id} does not exist")
    seq = row[0]
    transaction.on_commit(lambda: ring(job_id, seq))
    return seq


def ring(job_id: int, seq: int) -> None:
    from jobs.live import hub

    hub.notify(job_id, seq)
    if _layer_crosses_processes():
        _sender().put(job_id, seq)


def _layer_crosses_processes() -> bool:
    from channels.layers import InMemoryChannelLayer, get_channel_layer

    layer = get_channel_layer()
    return layer is not None and not isinstance(layer, InMemoryChannelLayer)


class _DoorbellSender:
    """One thread per process that owns an event loop and sends group messages in order."""

    def __init__(self):
        self.pid = os.getpid()
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="ferry-doorbell", daemon=True)
        self.thread.start()

    def put(self, job_id: int, seq: int) -> None:
        self.queue.put((job_id, seq))

    def _run(self) -> None:
        from channels.layers import get_channel_layer

        loop = asyncio.new_event_loop()  # kept for the life of the thread, with its connections
        layer = get_channel_layer()
        while True:
            batch = {}
            item = self.queue.get()
            while True:
                job_id, seq = item
                batch[job_id] = max(seq, batch.get(job_id, 0))
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
            try:
                loop.run_until_complete(self._send(layer, batch))
            except Exception:  # the watcher catches up; never let a doorbell kill the sender
                logger.warning("Could not ring the doorbells of jobs %s", sorted(batch), exc_info=True)

    @staticmethod
    async def _send(layer, batch: dict) -> None:
        for job_id, seq in batch.items():
            message = {"type": "job.changed", "job": job_id, "seq": seq}
            await layer.group_send(job_group(job_id), message)
            await layer.group_send(JOBS_GROUP, message)


_sender_instance: _DoorbellSender | None = None
_sender_lock = threading.Lock()


def _sender() -> _DoorbellSender:
    global _sender_instance
    with _sender_lock:
        if _sender_instance is None or _sender_instance.pid != os.getpid():
            _sender_instance = _DoorbellSender()
        return _sender_instance

