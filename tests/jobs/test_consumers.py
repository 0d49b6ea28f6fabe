"""The live sockets through the real ASGI stack (origin check, session auth, routing)."""
import asyncio
import contextvars
import re
import threading
from unittest import mock

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.test import Client

from config.asgi import application
from jobs.choices import StepStatus
from jobs.engine import PlanStep, submit_job
from jobs.live import hub, watcher
from jobs.models import Job, JobLogEntry, JobStep

pytestmark = pytest.mark.usefixtures("live_db", "fast_jobs")

RECORD = "tests.jobs.sample_steps.record"
ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture(autouse=True)
def fresh_watcher():
    watcher.stop()
    yield
    watcher.stop()


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def make_job(title="Remediate hv-a"):
    plan = [
        PlanStep(RECORD, title="Pause hv01", group="hv01", params={"key": "p1"}),
        PlanStep(RECORD, title="Patch hv01", group="hv01", params={"key": "u1"}),
    ]
    job, _ = submit_job(kind="remediation", title=title, plan=plan)
    return job


def in_other_thread(func):
    """Commit from another thread, as a worker would (its own connection and transaction)."""
    def target():
        try:
            func()
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(10)


def connect(path, headers):
    async def attempt():
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect(timeout=5)
        await communicator.disconnect()
        return connected, code

    return async_to_sync(attempt)()


def test_anonymous_is_refused():
    job = make_job()
    assert connect(f"/ws/jobs/{job.pk}/", [ORIGIN]) == (False, 4401)
    assert connect("/ws/jobs/", [ORIGIN]) == (False, 4401)


def test_a_foreign_origin_is_refused(viewer):
    job = make_job()
    connected, _ = connect(f"/ws/jobs/{job.pk}/", [(b"origin", b"http://evil.example"), session_cookie(viewer)])
    assert not connected
    connected, _ = connect(f"/ws/jobs/{job.pk}/", [session_cookie(viewer)])  # no origin at all
    assert not connected


def test_a_user_without_a_role_is_refused(make_user):
    job = make_job()
    nobody = make_user("nobody", role=None)
    assert connect(f"/ws/jobs/{job.pk}/", [ORIGIN, session_cookie(nobody)]) == (False, 4403)
    assert connect("/ws/jobs/", [ORIGIN, session_cookie(nobody)]) == (False, 4403)


def test_an_unknown_job_is_refused(viewer):
    assert connect("/ws/jobs/999999/", [ORIGIN, session_cookie(viewer)]) == (False, 4404)


async def watching(job, user) -> WebsocketCommunicator:
    """`user`'s socket on the job's page, its snapshot already taken."""
    ws = WebsocketCommunicator(application, f"/ws/jobs/{job.pk}/",
                               headers=[ORIGIN, await sync_to_async(session_cookie)(user)])
    assert (await ws.connect())[0]
    await ws.receive_from(timeout=5)
    return ws


def test_snapshot_then_only_what_changed(viewer):
    job = make_job()
    steps = list(JobStep.objects.filter(job=job).order_by("order"))
    lane, pause, patch = steps

    async def scenario():
        ws = WebsocketCommunicator(application, f"/ws/jobs/{job.pk}/",
                                   headers=[ORIGIN, await sync_to_async(session_cookie)(viewer)])
        assert (await ws.connect())[0]
        snapshot = await ws.receive_from(timeout=5)
        assert '<div id="job-header"' in snapshot and 'hx-swap-oob="true"' in snapshot
        assert '<div id="job-steps"' in snapshot and f'id="step-{patch.pk}"' in snapshot
        assert '<ol id="job-log-entries" class="job-log" hx-swap-oob="true"' in snapshot
        assert "Queued by the system with 2 steps." in snapshot
        assert 'id="running-jobs"' in snapshot and 'data-count="1"' in snapshot

        await sync_to_async(in_other_thread)(lambda: pause.transition(StepStatus.RUNNING, log="Started: Pause hv01."))
        update = await ws.receive_from(timeout=5)
        assert f'<div id="step-{pause.pk}" class="step running"' in update
        assert f'id="step-{lane.pk}" class="step running lane-head"' in update  # the swimlane rolled up
        assert f'id="step-{patch.pk}"' not in update and 'id="job-steps"' not in update
        assert 'hx-swap-oob="beforeend"' in update and "Started: Pause hv01." in update
        assert "Queued by the system" not in update  # old log lines are not sent again

        seq = await sync_to_async(lambda: Job.objects.get(pk=job.pk).seq)()
        layer = get_channel_layer()
        await layer.group_send("jobs", {"type": "job.changed", "job": job.pk, "seq": seq})
        assert await ws.receive_nothing(timeout=0.3)  # a doorbell for what it already sent is skipped
        await ws.disconnect()

    async_to_sync(scenario)()


def test_two_viewers_both_get_every_change(viewer, operator):
    job = make_job()
    pause = JobStep.objects.filter(job=job, is_group=False).order_by("order").first()

    async def scenario():
        cookies = [await sync_to_async(session_cookie)(user) for user in (viewer, operator)]
        sockets = [WebsocketCommunicator(application, f"/ws/jobs/{job.pk}/", headers=[ORIGIN, c]) for c in cookies]
        for ws in sockets:
            assert (await ws.connect())[0]
            await ws.receive_from(timeout=5)
        await sync_to_async(in_other_thread)(lambda: pause.transition(StepStatus.RUNNING))
        for ws in sockets:
            assert f'id="step-{pause.pk}" class="step running"' in await ws.receive_from(timeout=5)
        await sync_to_async(in_other_thread)(lambda: pause.transition(StepStatus.SUCCEEDED, message="paused"))
        frames = [await ws.receive_from(timeout=5) for ws in sockets]
        for frame in frames:
            assert f'id="step-{pause.pk}" class="step succeeded"' in frame and "paused" in frame
        assert 'name="cancel"' not in frames[0] and 'name="cancel"' in frames[1]  # viewer vs operator
        for ws in sockets:
            await ws.disconnect()

    async_to_sync(scenario)()


def test_every_viewer_gets_every_line_once_and_in_order_when_lines_come_faster_than_frames(viewer, operator):
    """Thirty viewers and five operators of one job in one process, lines committed back to back
    (the process's one sender coalesces doorbells into fewer frames), and a viewer who joins in
    the middle: each browser ends up with every line, once, in order."""
    job = make_job()

    def burst(first, count):
        for n in range(first, first + count):
            job.write_log(f"burst-line-{n:03d}")

    def lines(text):
        return re.findall(r"burst-line-(\d{3})", text)

    async def received_until(ws, last, text=""):
        while f"burst-line-{last:03d}" not in text:
            text += await ws.receive_from(timeout=5)
        return text

    async def scenario():
        cookies = [await sync_to_async(session_cookie)(user) for user in (viewer, operator)]
        sockets = [WebsocketCommunicator(application, f"/ws/jobs/{job.pk}/", headers=[ORIGIN, cookies[n // 30]])
                   for n in range(35)]
        for ws in sockets:
            assert (await ws.connect())[0]
            assert not lines(await ws.receive_from(timeout=5))
        await sync_to_async(in_other_thread)(lambda: burst(0, 40))
        late = WebsocketCommunicator(application, f"/ws/jobs/{job.pk}/", headers=[ORIGIN, cookies[0]])
        assert (await late.connect())[0]
        late_text = await late.receive_from(timeout=5)
        await sync_to_async(in_other_thread)(lambda: burst(40, 20))
        expected = [f"{n:03d}" for n in range(60)]
        for ws in sockets:
            assert lines(await received_until(ws, 59)) == expected
            assert await ws.receive_nothing(timeout=0.05)
        assert lines(await received_until(late, 59, late_text)) == expected
        for ws in [*sockets, late]:
            await ws.disconnect()

    async_to_sync(scenario)()


def test_a_render_that_fails_is_tried_again_and_the_line_still_arrives(viewer, monkeypatch, caplog):
    from jobs.live import render

    job = make_job()
    real, failures = render.job_frames, []

    def failing_once(job_id, since, *args, **kwargs):
        if since and not failures:
            failures.append(since)
            raise RuntimeError("database went away")
        return real(job_id, since, *args, **kwargs)

    monkeypatch.setattr(render, "job_frames", failing_once)

    async def scenario():
        ws = await watching(job, viewer)
        await sync_to_async(in_other_thread)(lambda: job.write_log("after the failed render"))
        assert "after the failed render" in await ws.receive_from(timeout=5)
        await ws.disconnect()

    async_to_sync(scenario)()
    assert failures and "Could not render a live update" in caplog.text


def _change_without_doorbell(job_id, message):
    """What a worker in another process does, as far as this process can tell: rows change, no
    doorbell reaches the in-memory layer here."""
    with transaction.atomic():
        Job.objects.filter(pk=job_id).update(seq=F("seq") + 1, changed_at=Now())
        seq = Job.objects.get(pk=job_id).seq
        JobLogEntry.objects.create(job_id=job_id, message=message, seq=seq)
    return seq


def test_the_database_watcher_delivers_changes_made_by_other_processes(viewer):
    job = make_job()

    async def scenario():
        ws = await watching(job, viewer)
        await sync_to_async(in_other_thread)(lambda: _change_without_doorbell(job.pk, "written by another process"))
        frame = await ws.receive_from(timeout=5)
        assert "written by another process" in frame
        await ws.disconnect()

    async_to_sync(scenario)()


def test_a_channel_layer_doorbell_is_enough_without_the_watcher(viewer, fast_jobs):
    fast_jobs["WATCH_SECONDS"] = 0
    job = make_job()

    async def scenario():
        ws = await watching(job, viewer)
        seq = await sync_to_async(_change_without_doorbell)(job.pk, "rung through the layer")
        assert await ws.receive_nothing(timeout=0.3)  # no watcher, no doorbell: nothing yet
        await get_channel_layer().group_send("jobs", {"type": "job.changed", "job": job.pk, "seq": seq})
        assert "rung through the layer" in await ws.receive_from(timeout=5)
        await ws.disconnect()

    async_to_sync(scenario)()


def test_the_list_socket_sends_the_table_and_new_jobs(viewer):
    make_job("First job")

    async def scenario():
        ws = WebsocketCommunicator(application, "/ws/jobs/?view=list&status=active",
                                   headers=[ORIGIN, await sync_to_async(session_cookie)(viewer)])
        assert (await ws.connect())[0]
        snapshot = await ws.receive_from(timeout=5)
        assert '<div id="job-table" hx-swap-oob="true"' in snapshot and "First job" in snapshot
        await sync_to_async(in_other_thread)(lambda: make_job("Second job"))
        frame = await ws.receive_from(timeout=5)
        assert "Second job" in frame and 'data-count="2"' in frame
        await ws.disconnect()

    async_to_sync(scenario)()


def test_the_indicator_socket_alone_sends_no_table(viewer):
    make_job()

    async def scenario():
        ws = WebsocketCommunicator(application, "/ws/jobs/",
                                   headers=[ORIGIN, await sync_to_async(session_cookie)(viewer)])
        assert (await ws.connect())[0]
        snapshot = await ws.receive_from(timeout=5)
        assert 'id="running-jobs"' in snapshot and "job-table" not in snapshot
        await ws.disconnect()

    async_to_sync(scenario)()


def test_the_list_socket_shows_a_job_failing_with_its_reason_in_the_viewers_order(viewer):
    job = make_job("Fails later")
    other = make_job("Stays queued")
    Job.objects.filter(pk=other.pk).update(progress=90)

    def fail():
        Job.objects.get(pk=job.pk).transition("failed", progress=30, error="Node hv01 refused Suspend-ClusterNode.")

    async def scenario():
        path = "/ws/jobs/?view=list&sort=-progress"
        ws = WebsocketCommunicator(application, path, headers=[ORIGIN, await sync_to_async(session_cookie)(viewer)])
        assert (await ws.connect())[0]
        snapshot = await ws.receive_from(timeout=5)
        assert "<td>Remediation</td>" in snapshot and "0%</span>" in snapshot
        await sync_to_async(in_other_thread)(fail)
        frame = await ws.receive_from(timeout=5)
        row = frame[frame.index(f'id="job-row-{job.pk}"'):]
        row = row[:row.index("</tr>")]
        assert 'data-status="failed"' in row and 'class="progress failed"' in row and "30%</span>" in row
        assert "Node hv01 refused Suspend-ClusterNode." in row
        assert frame.index(f"job-row-{other.pk}") < frame.index(f"job-row-{job.pk}")  # still by progress, descending
        await ws.disconnect()

    async_to_sync(scenario)()


def test_updates_keep_coming_after_a_doorbell_rung_in_a_request_that_has_answered(viewer):
    # Django runs a request's inner handlers through async_to_sync when a middleware is sync only:
    # code on the event loop in that request's context reaches the database through an executor
    # that quits once the request has answered. A doorbell rung there must not hand that context
    # to what brings the viewers up to date, or every later render fails, forever.
    job = make_job()

    async def scenario():
        ws = await watching(job, viewer)

        async def inner_handler():
            return contextvars.copy_context()

        request_context = await sync_to_async(async_to_sync(inner_handler))()  # the request answered
        for line in ("rung in the request context", "rung by a worker afterwards"):
            seq = await sync_to_async(_change_without_doorbell)(job.pk, line)
            if line.startswith("rung in"):
                request_context.run(hub.notify, job.pk, seq)
            else:
                hub.notify(job.pk, seq)
            assert line in await ws.receive_from(timeout=5)
        await ws.disconnect()

    # asyncio.run, as daphne runs its loop: under async_to_sync the request's executor, once quit,
    # would pass its work on to the test's own thread and the fault could not show.
    with mock.patch.object(watcher, "ensure_started", lambda: None):  # only these doorbells ring
        asyncio.run(scenario())
