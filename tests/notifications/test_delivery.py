"""Notifications end to end: a job ends (or its precheck refuses it), its subscribers hear of it —
by webhook to a receiver on loopback that checks the signature, retried when it fails, or by
e-mail — and only those who may see the job."""
import pytest

from jobs.engine import PlanStep, submit_job
from jobs.engine.runner import run_job
from notifications.models import Delivery, DeliveryAttempt, Subscription
from tests import factories as f
from tests.helpers import database_text

from . import steps  # noqa: F401  (registers the steps)
from .receiver import Receiver

SECRET = "hook-secret-0123456789abcdef"


def run(name, target, *more):
    plan = [PlanStep(name, title=f"{name} on {target}", target=str(target))] + [
        PlanStep(n, title=n, target=str(target)) for n in more]
    job, _ = submit_job(kind="remediation", title=f"Remediate {target}", target=target,
                        lock_key=f"cluster:{getattr(target, 'pk', target)}", plan=plan)
    run_job(job.pk)
    job.refresh_from_db()
    return job


def hook(user, url, **kw):
    return Subscription.objects.create(user=user, channel="webhook", url=url, secret=SECRET, **kw)


def test_a_signed_webhook_reaches_the_receiver(notify_now, operator):
    cluster = f.cluster("HV-A", nodes=3)
    with Receiver(SECRET) as receiver:
        hook(operator, receiver.url, scope="cluster", cluster=cluster, on_succeeded=True)
        job = run("tests.notifications.works", cluster)
    assert job.status == "succeeded"
    [message] = receiver.received
    assert message["signed"] and message["answered"] == 200
    body = message["body"]
    assert body["event"] == "succeeded" and body["job"]["id"] == job.pk and body["job"]["target"] == "HV-A"
    assert body["job"]["url"] == f"https://ferry.example.com/jobs/{job.pk}/"
    headers = {k.lower(): v for k, v in message["headers"].items()}
    assert headers["x-ferry-event"] == "succeeded" and headers["x-ferry-timestamp"].isdigit()
    assert headers["x-ferry-delivery"] == str(body["delivery"])
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("delivered", 1, 200)


def test_a_receiver_that_fails_twice_gets_the_message_on_the_third_attempt(notify_now, operator):
    cluster = f.cluster("HV-B", nodes=3)
    with Receiver(SECRET, statuses=(500, 503, 200)) as receiver:
        hook(operator, receiver.url, scope="everything", on_failed=True)
        job = run("tests.notifications.breaks", cluster)
    assert job.status == "failed"
    assert [m["answered"] for m in receiver.received] == [500, 503, 200]
    assert all(m["signed"] for m in receiver.received)
    assert len({m["headers"]["X-Ferry-Delivery"] for m in receiver.received}) == 1  # one message, retried
    body = receiver.received[0]["body"]
    assert "did not come back after its restart" in body["reason"] and body["reason"] == body["job"]["error"]
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    attempts = list(DeliveryAttempt.objects.filter(delivery=delivery).values_list("number", "status_code", "ok"))
    assert attempts == [(1, 500, False), (2, 503, False), (3, 200, True)]


def test_a_receiver_that_never_answers_well_is_given_up_after_the_last_attempt(notify_now, operator):
    cluster = f.cluster("HV-C", nodes=3)
    with Receiver(SECRET, statuses=(500,)) as receiver:
        hook(operator, receiver.url, on_failed=True)
        run("tests.notifications.breaks", cluster)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("failed", 4, 500)
    assert len(receiver.received) == 4
    # an address nobody listens on: the error is logged per attempt
    Subscription.objects.all().delete()
    hook(operator, "http://127.0.0.1:9/nobody", on_failed=True)
    cluster2 = f.cluster("HV-D", nodes=3)
    run("tests.notifications.breaks", cluster2)
    refused = Delivery.objects.get(target="HV-D")
    assert refused.status == "failed" and refused.error.startswith("Could not connect to the receiver")
    assert refused.destination == "http://127.0.0.1:9/…" and "nobody" not in refused.error
    assert SECRET not in refused.error and SECRET not in str(refused.payload)


def test_an_email_tells_of_a_failed_job(notify_now, operator):
    from django.core import mail

    cluster = f.cluster("HV-E", nodes=3)
    Subscription.objects.create(user=operator, channel="email", email="otto@example.com", scope="cluster",
                                cluster=cluster, on_failed=True)
    job = run("tests.notifications.breaks", cluster)
    [message] = mail.outbox
    assert message.to == ["otto@example.com"]
    assert message.subject == f"Ferry: job #{job.pk} Remediate HV-E failed"
    assert "did not come back after its restart" in message.body
    assert f"https://ferry.example.com/jobs/{job.pk}/" in message.body
    assert Delivery.objects.get().status == "delivered"


def test_a_refused_precheck_needs_attention(notify_now, operator, viewer):
    from django.core import mail

    cluster = f.cluster("HV-F", nodes=3)
    Subscription.objects.create(user=operator, channel="email", email="otto@example.com",
                                on_failed=False, on_needs_attention=True)
    Subscription.objects.create(user=viewer, channel="email", email="vera@example.com",
                                on_failed=True, on_needs_attention=False)
    job = run("tests.notifications.precheck", cluster, "tests.notifications.works")
    assert job.status == "failed"
    [message] = mail.outbox
    assert message.to == ["otto@example.com"] and message.subject.endswith("needs attention")
    assert "Quorum would be lost while N1 is out" in message.body
    assert Delivery.objects.get().event == "needs_attention"


def test_needs_attention_has_a_hook_for_a_waiting_job(notify_now, operator):
    from django.core import mail
    from django.db import transaction

    from jobs import signals

    cluster = f.cluster("HV-G", nodes=3)
    Subscription.objects.create(user=operator, channel="email", email="otto@example.com", on_needs_attention=True)
    plan = [PlanStep("tests.notifications.works", title="wait", target="HV-G")]
    job, _ = submit_job(kind="remediation", title="Remediate HV-G", target=cluster, plan=plan)
    with transaction.atomic():
        signals.needs_attention(job, "Waiting for the maintenance window Sunday 02:00.")
    assert "Waiting for the maintenance window" in mail.outbox[0].body


def test_only_subscribers_who_may_see_the_job_and_whose_scope_covers_it_hear_of_it(notify_now, make_user):
    from django.core import mail

    cluster = f.cluster("HV-H", nodes=3)
    other = f.cluster("HV-I", nodes=3)
    node = cluster.nodes.order_by("name").first()
    people = {
        "everything": make_user("eve", "viewer"),
        "its node": make_user("nora", "operator"),
        "its cluster": make_user("carl", "operator"),
        "no role": make_user("ned", None),
        "left": make_user("lou", "viewer"),
        "other cluster": make_user("olga", "operator"),
        "successes only": make_user("sue", "viewer"),
    }
    for key, user in people.items():
        scope = {"its node": {"scope": "host", "host": node}, "its cluster": {"scope": "cluster", "cluster": cluster},
                 "other cluster": {"scope": "cluster", "cluster": other}}.get(key, {})
        Subscription.objects.create(user=user, channel="email", email=f"{user.username}@example.com",
                                    on_failed=key != "successes only", on_succeeded=key == "successes only", **scope)
    people["left"].is_active = False
    people["left"].save()
    run("tests.notifications.breaks", cluster)
    assert sorted(m.to[0] for m in mail.outbox) == ["carl@example.com", "eve@example.com", "nora@example.com"]


def test_a_cancelled_job_notifies_nobody_and_the_secret_stays_encrypted(notify_now, operator, monkeypatch):
    from jobs.engine import cancel_job

    monkeypatch.setattr("jobs.engine.plan.enqueue", lambda job_id: None)  # nobody picks it up

    cluster = f.cluster("HV-J", nodes=3)
    hook(operator, "http://127.0.0.1:9/x", on_failed=True, on_succeeded=True)
    plan = [PlanStep("tests.notifications.works", title="w", target="HV-J")]
    job, _ = submit_job(kind="remediation", title="Remediate HV-J", target=cluster, plan=plan)
    cancel_job(job)
    assert not Delivery.objects.exists()
    assert SECRET not in database_text()


def test_a_long_wait_is_left_to_the_minute_schedule_which_sends_it_later(notify_now, operator, settings):
    from datetime import timedelta

    from django.utils import timezone

    from notifications.tasks import retry_due

    settings.FERRY_NOTIFY = dict(settings.FERRY_NOTIFY, SLICE_SECONDS=0.0, RETRY_DELAY_SECONDS=60.0)
    cluster = f.cluster("HV-K", nodes=3)
    with Receiver(SECRET, statuses=(502, 200)) as receiver:
        hook(operator, receiver.url, on_failed=True)
        run("tests.notifications.breaks", cluster)
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("retrying", 1)
        assert retry_due() == []  # not due yet
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt=timezone.now() - timedelta(seconds=1))
        assert retry_due() == [delivery.pk]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert [m["answered"] for m in receiver.received] == [502, 200]


def test_a_delivery_whose_worker_was_lost_is_sent_again_once_its_claim_runs_out(notify_now, operator):
    from datetime import timedelta

    from django.utils import timezone

    from notifications.tasks import retry_due

    subscription = Subscription.objects.create(user=operator, channel="email", email="otto@example.com")
    lost = Delivery.objects.create(subscription=subscription, user=operator, event="failed", target="HV-L",
                                   channel="email", destination="otto@example.com", status="sending",
                                   claimed_until=timezone.now() - timedelta(seconds=1),
                                   payload={"event": "failed", "reason": "", "job": {
                                       "id": 1, "title": "Remediate HV-L", "target": "HV-L", "status": "failed",
                                       "url": "/jobs/1/"}})
    held = Delivery.objects.create(subscription=subscription, user=operator, event="failed", target="HV-M",
                                   channel="email", destination="otto@example.com", status="sending",
                                   claimed_until=timezone.now() + timedelta(minutes=1), payload=lost.payload)
    assert retry_due() == [lost.pk]
    lost.refresh_from_db()
    held.refresh_from_db()
    assert (lost.status, held.status) == ("delivered", "sending")


def test_a_job_that_starts_waiting_for_its_maintenance_window_needs_attention_once(notify_now, operator):
    from datetime import time as day_time

    from django.core import mail

    from fabric import clock, maintenance
    from fabric.models import MaintenanceWindow

    cluster = f.cluster("HV-W", nodes=3)
    node = cluster.nodes.order_by("name").first()
    MaintenanceWindow.objects.create(cluster=cluster, weekday=(clock.now().weekday() + 3) % 7, start=day_time(2),
                                     end=day_time(4), time_zone="UTC")
    Subscription.objects.create(user=operator, channel="email", email="otto@example.com", on_needs_attention=True)
    plan = [PlanStep("tests.notifications.works", title="wait", target="HV-W")]
    job, _ = submit_job(kind="remediation", title="Remediate HV-W", target=cluster, plan=plan)

    class StopWaiting(Exception):
        pass

    class Step:
        data = {}

    class Ctx:  # what wait_for_window asks of a job step; the wait itself ends at once here
        def __init__(self):
            self.job, self.step = job, Step()

        def log(self, *args):
            pass

        def progress(self, *args):
            pass

        def save_checkpoint(self, **values):
            self.step.data = {**self.step.data, **values}

        def wait_until(self, *args, **kwargs):
            raise StopWaiting

    ctx = Ctx()
    for _ in range(2):  # the step resumed after a worker restart asks again: no second message
        with pytest.raises(StopWaiting):
            maintenance.wait_for_window(ctx, node)
    assert len(mail.outbox) == 1
    assert f"{node.name}: paused until" in mail.outbox[0].body and "cluster HV-W" in mail.outbox[0].body
