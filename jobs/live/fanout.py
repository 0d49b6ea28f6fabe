"""One sender per web process and event loop: a doorbell marks the viewers it concerns, and a single
task brings them up to date.

Viewers in the same state (same job, same seq already shown, same role) share one render, made once
in the database thread, and the very same frame string; the cost per viewer is then its send alone.
Measured with 500 viewers per process, a task of its own per viewer (woken one by one from another
thread, each looking up the shared render and waiting for it) cost about five times the send. A
viewer gets its snapshot on connect before it joins (`ready`), so this task is the only one that
sends to a viewer afterwards and its frames keep their order.
"""
import asyncio
import contextvars
import logging
import weakref

logger = logging.getLogger("ferry.jobs")

# Frames handed to daphne before the loop gets a turn to write them to the sockets (daphne only
# buffers a frame; the write happens on a later turn of the loop).
SEND_BATCH = 50
RETRY_SECONDS = 1.0

_fanouts: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Fanout]" = weakref.WeakKeyDictionary()


def for_loop(loop: asyncio.AbstractEventLoop) -> "Fanout":
    fanout = _fanouts.get(loop)
    if fanout is None:
        fanout = _fanouts[loop] = Fanout(loop)
    return fanout


class Fanout:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.dirty: dict = {}  # consumers to bring up to date, in the order they were marked
        self.task: asyncio.Task | None = None

    def mark(self, consumer) -> None:
        """On the loop: `consumer` has something new to show."""
        self.dirty[consumer] = None
        if self.task is None or self.task.done():
            # In a context of its own: mark() may run in the context of whatever rang the doorbell,
            # such as a view's request, whose executor for database calls is gone once it answered
            # ("CurrentThreadExecutor already quit"), and every later render would fail with it.
            self.task = self.loop.create_task(self._run(), name="ferry-live-fanout", context=contextvars.Context())

    def forget(self, consumer) -> None:
        self.dirty.pop(consumer, None)

    async def _run(self) -> None:
        while self.dirty:
            groups: dict = {}
            for consumer in self.dirty:
                if consumer.ready:
                    groups.setdefault(consumer.render_key(), []).append(consumer)
            self.dirty = {}
            handed = 0
            for members in groups.values():
                for index, consumer in enumerate(members):
                    try:
                        handed += await consumer.deliver()
                    except Exception:
                        # The first viewer of a group made its render; the others would fail alike.
                        logger.exception("Could not render a live update for %s", consumer.scope.get("path"))
                        for waiting in members[index:]:
                            self.loop.call_later(RETRY_SECONDS, self.mark, waiting)
                        break
                    if handed >= SEND_BATCH:
                        handed = 0
                        await asyncio.sleep(0)
