"""One doorbell listener per web process: it joins the "jobs" group on the channel layer with a
single channel and rings this process's consumers through the hub. A hundred viewers in one
process then cost one channel-layer message per change, not a hundred."""
import asyncio
import logging
import time

from channels.layers import get_channel_layer

from jobs.events import JOBS_GROUP
from jobs.live import hub

logger = logging.getLogger("ferry.jobs")

# channels-redis forgets group members after its group_expiry (a day by default): re-join often.
REJOIN_SECONDS = 600

_task: asyncio.Task | None = None


def ensure_started() -> None:
    """Call from a consumer, on the web process's event loop."""
    global _task
    loop = asyncio.get_running_loop()
    if _task is None or _task.done() or _task.get_loop() is not loop:
        _task = loop.create_task(_listen(), name="ferry-doorbell-listener")


async def _listen() -> None:
    layer = get_channel_layer()
    # The default prefix matters: channels-redis reads all of a process's channels that share a
    # prefix with one blocking pop; a channel of another prefix waits for that pop's timeout.
    channel = await layer.new_channel()
    joined = 0.0
    while True:
        try:
            if time.monotonic() - joined > REJOIN_SECONDS / 2:
                await layer.group_add(JOBS_GROUP, channel)
                joined = time.monotonic()
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=REJOIN_SECONDS / 2)
            except asyncio.TimeoutError:
                continue
            if message.get("type") == "job.changed":
                hub.notify(int(message["job"]), int(message["seq"]))
        except asyncio.CancelledError:
            raise
        except Exception:  # the watcher covers the gap; keep listening
            logger.warning("The doorbell listener failed; listening again in 1 s", exc_info=True)
            await asyncio.sleep(1)
