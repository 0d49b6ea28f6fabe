"""Websocket consumers: the job page (`/ws/jobs/<id>/`) and every other page (`/ws/jobs/`, the
running-jobs indicator and, on the list page, the job table).

Only signed-in users with a role may connect (the ASGI stack already checked the origin). A
consumer never builds HTML: it re-reads the database and sends rendered partials whose top-level
elements carry an id and `hx-swap-oob`. It sends a snapshot on connect; after that the process's
sender (jobs.live.fanout) brings it up to date, coalescing doorbells and skipping any it already
covered. Doorbells reach it through this process's hub, rung by the process's channel-layer
listener (jobs.live.listener), by commits made in this process, and by the database watcher
(jobs.live.watcher).
"""
import asyncio
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import QueryDict

from core.roles import OPERATOR, VIEWER, has_role
from jobs.filters import clean_params
from jobs.live import fanout, hub, listener, render, trace
from jobs.models import Job

logger = logging.getLogger("ferry.jobs")

CLOSE_NOT_SIGNED_IN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


class LiveConsumer(AsyncWebsocketConsumer):
    # No channel-layer channel per viewer: doorbells reach viewers through the process's one
    # listener and the hub. A thousand viewers each blocking on their own Redis channel timed out
    # Redis reads and closed their websockets with 1011.
    channel_layer_alias = None
    ready = False  # set once the snapshot went out; from then on only the process's sender sends

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_SIGNED_IN)
            return
        refusal = await database_sync_to_async(self.refusal)(user)
        if refusal:
            await self.close(code=refusal)
            return
        self.loop = asyncio.get_running_loop()
        self.generation = hub.current_generation()
        self.indicator_dirty = True
        self.last_sent: dict[str, str] = {}
        self.connected = True
        await self.accept()
        listener.ensure_started()
        # Subscribed before the snapshot is read, so a change committed meanwhile is rung for it.
        hub.subscribe(self, *self.hub_keys())
        try:
            await self.deliver()  # the snapshot
        except Exception:
            logger.exception("Could not render a live snapshot for %s", self.scope.get("path"))
        if self.connected:
            self.ready = True
            fanout.for_loop(self.loop).mark(self)  # whatever was rung while the snapshot was made

    async def disconnect(self, code):
        self.connected = self.ready = False
        hub.unsubscribe(self)
        loop = getattr(self, "loop", None)
        if loop is not None:
            fanout.for_loop(loop).forget(self)

    async def receive(self, text_data=None, bytes_data=None):
        pass  # the browser only listens

    def ring(self, job_id: int, seq: int, generation: int) -> None:
        """Called on this consumer's loop for every doorbell it may care about."""
        self.generation = max(self.generation, generation)
        self.indicator_dirty = True

    async def deliver(self) -> int:
        """Bring this browser up to date: 1 if a frame went out. Most viewers of a process want a
        render another viewer already made (the sender groups them): taken from the cache without a
        thread hop; the first of a group renders it in the database thread."""
        indicator, self.indicator_dirty = self.indicator_dirty, False
        try:
            frame = self.frame(indicator, cached_only=True)
            if frame is render.MISS:
                trace.mark(getattr(self, "job_id", 0), getattr(self, "wanted_seq", 0), "render_start")
                frame = await database_sync_to_async(self.frame)(indicator)
                trace.mark(getattr(self, "job_id", 0), getattr(self, "wanted_seq", 0), "render_end")
        except Exception:
            self.indicator_dirty = True
            raise
        if not frame:
            return 0
        await self.send(text_data=frame)
        trace.sent(getattr(self, "job_id", 0), getattr(self, "sent_seq", 0))
        return 1

    def render_key(self):
        return ("indicator", self.generation)

    def refusal(self, user) -> int | None:
        return None if has_role(user, VIEWER) else CLOSE_FORBIDDEN

    def hub_keys(self):
        return [hub.ALL]

    def indicator_part(self, wanted: bool, cached_only: bool):
        return render.indicator_frame(self.generation, cached_only) if wanted else ""

    def unless_sent(self, part: str, html: str) -> str:
        """Send a part only when it differs from what this browser already shows."""
        if not html or self.last_sent.get(part) == html:
            return ""
        self.last_sent[part] = html
        return html


class JobsConsumer(LiveConsumer):
    """Every page: the running-jobs indicator; the list page (?view=list&filters) also its table."""

    async def connect(self):
        query = QueryDict(self.scope.get("query_string", b"").decode("latin-1"))
        self.is_list = query.get("view") == "list"
        self.params = clean_params(query)
        await super().connect()

    def render_key(self):
        return ("list", self.params.urlencode(), self.scope["user"].pk, self.generation)

    def frame(self, indicator: bool, cached_only: bool = False):
        indicator = self.indicator_part(indicator, cached_only)
        table = ""
        if self.is_list:
            table = render.job_table_frame(self.params, self.scope["user"], self.generation, cached_only)
        if render.MISS in (indicator, table):
            return render.MISS
        return self.unless_sent("indicator", indicator) + self.unless_sent("table", table)


class JobConsumer(LiveConsumer):
    """The job page: header, changed steps, new log lines (and the indicator)."""

    async def connect(self):
        self.job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        self.sent_seq = 0
        self.wanted_seq = 0
        await super().connect()

    def refusal(self, user) -> int | None:
        job = Job.objects.filter(pk=self.job_id).first()
        if job is None:
            return CLOSE_NOT_FOUND
        if not job.can_view(user):
            return CLOSE_FORBIDDEN
        self.can_operate = has_role(user, OPERATOR)
        return None

    def hub_keys(self):
        return [self.job_id, hub.ALL]

    def ring(self, job_id: int, seq: int, generation: int) -> None:
        # A doorbell this viewer's job part already covers still refreshes the indicator: the
        # frame that covered it may have read the indicator just before that commit.
        if job_id == self.job_id and seq > self.sent_seq:
            self.wanted_seq = max(self.wanted_seq, seq)
        super().ring(job_id, seq, generation)

    def render_key(self):
        return ("job", self.job_id, self.sent_seq, self.can_operate, self.wanted_seq)

    def frame(self, indicator: bool, cached_only: bool = False):
        indicator = self.indicator_part(indicator, cached_only)
        update = None
        if self.wanted_seq > self.sent_seq or self.sent_seq == 0:
            update = render.job_frames(self.job_id, self.sent_seq, self.wanted_seq, self.can_operate, cached_only)
        if render.MISS in (indicator, update):
            return render.MISS
        parts = [self.unless_sent("indicator", indicator)]
        if update is not None:
            seq, html = update
            if seq > self.sent_seq:
                self.sent_seq = seq
                parts.append(html)
        return "".join(parts)
