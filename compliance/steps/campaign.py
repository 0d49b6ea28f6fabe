"""The campaign's step: start one cluster's (or standalone host's) remediation or rolling upgrade job and
follow it to its end."""
from __future__ import annotations

from compliance.campaigns.planning import CAMPAIGN_CLUSTER, CHILD_KIND, REMEDIATE, UPGRADE
from compliance.remediation import RemediationOptions
from fabric.models import Cluster, Host
from fabric.nodeops.live import poll_seconds
from jobs.choices import ACTIVE, JobStatus, LogLevel, StepStatus
from jobs.engine import (
    CancelRequested,
    StepFailed,
    StepResult,
    cancel_job,
    register_step,
)
from jobs.models import Job, JobStep

FOLLOW_DAYS = 14  # a cluster's job may wait for maintenance windows for up to two weeks


def _failed_clusters(ctx) -> list[str]:
    return list(JobStep.objects.filter(job_id=ctx.job.pk, is_group=True, status=StepStatus.FAILED)
                .values_list("title", flat=True))


def _child(ctx) -> Job | None:
    """The job this step started (found by its parameters too, should the worker have died between
    starting it and saving the checkpoint)."""
    child_id = ctx.step.data.get("child_job_id")
    if child_id:
        return Job.objects.get(pk=child_id)
    kind = CHILD_KIND[ctx.params.get("action", REMEDIATE)]
    return Job.objects.filter(kind=kind, params__campaign_step=ctx.step.pk).order_by("-pk").first()


def _upgrade_submitter(ctx):
    """(cluster, lock, submit) for a cluster's rolling upgrade: the request the campaign built when it
    was submitted. A cluster busy with another job is waited for; a refusal fails the cluster."""
    from upgrades.orchestration import UpgradeRefused, submit_upgrade  # its steps import the engine
    from upgrades.request import UpgradeRequest

    cluster = Cluster.objects.get(pk=ctx.params["cluster_id"])
    lock = f"cluster:{cluster.pk}"

    def submit(_options):
        if Job.objects.filter(lock_key=lock, status__in=ACTIVE).exists():
            return None, False
        try:
            return submit_upgrade(UpgradeRequest.from_dict(ctx.params["request"]), ctx.job.requested_by,
                                  campaign_step=ctx.step.pk)
        except UpgradeRefused as refusal:
            raise StepFailed(f"The upgrade of {cluster.name} was refused: {refusal}", retry=False) from None
    return cluster, lock, submit


def child_activity(child: Job) -> str:
    """What the cluster's job does now, for the campaign's lane: its running step and that step's
    message ("Record RU-N2's configuration — Paused until Thu 02:00 (maintenance window)")."""
    step = (JobStep.objects.filter(job_id=child.pk, is_group=False, status=StepStatus.RUNNING)
            .order_by("order").values("title", "message").first())
    if step is None:
        return ""
    return f"{step['title']} — {step['message']}" if step["message"] else step["title"]


@register_step(CAMPAIGN_CLUSTER, title="Remediate or upgrade a cluster")
def campaign_cluster(ctx) -> StepResult:
    from compliance.orchestration import (  # they import the steps
        submit_cluster_remediation,
        submit_host_remediation,
    )

    if ctx.params.get("action") == UPGRADE:
        target, lock, submit = _upgrade_submitter(ctx)
    elif ctx.params.get("host_id"):
        host = Host.objects.get(pk=ctx.params["host_id"])
        target, lock = host, f"host:{host.pk}"

        def submit(options):
            return submit_host_remediation([host], options, ctx.job.requested_by, campaign_step=ctx.step.pk)
    else:
        target = Cluster.objects.get(pk=ctx.params["cluster_id"])
        lock = f"cluster:{target.pk}"

        def submit(options):
            return submit_cluster_remediation(target, options, ctx.job.requested_by, campaign_step=ctx.step.pk)
    child = _child(ctx)
    if child is None:
        allowed = ctx.params.get("max_failed_clusters", 0)
        failed = _failed_clusters(ctx)
        if len(failed) > allowed:
            return StepResult(f"Not started: {len(failed)} cluster(s) failed ({', '.join(failed)}); "
                              f"the campaign's failure policy allows {allowed}.", skipped=True)
        options = RemediationOptions.from_params(ctx.params.get("options", {}))

        def started():
            ctx.ensure_lease()
            job, created = submit(options)
            return job if created else None

        busy = Job.objects.filter(lock_key=lock, status__in=ACTIVE).first()
        if busy:
            ctx.log(f"{target.name} has an active job (#{busy.pk} {busy.title}); waiting for it to end.",
                    LogLevel.WARNING)
        child = ctx.wait_until(started, FOLLOW_DAYS * 86400, poll_seconds(),
                               waiting_for=f"the active job on {target.name} to end")
        ctx.log(f"Started job #{child.pk} ({child.title}).")
    if ctx.step.data.get("child_job_id") != child.pk:
        ctx.save_checkpoint(child_job_id=child.pk)
        ctx.progress(0, f"Job #{child.pk}: {child.title}")

    def ended():
        child.refresh_from_db(fields=["status", "error", "progress"])
        ctx.progress(child.progress, f"Job #{child.pk}: {child_activity(child) or child.title}")
        return child.status not in ACTIVE

    try:
        ctx.wait_until(ended, FOLLOW_DAYS * 86400, poll_seconds(), waiting_for=f"job #{child.pk} ({child.title})")
    except CancelRequested:
        if child.status in ACTIVE:
            ctx.job.refresh_from_db(fields=["cancel_requested_by"])
            cancel_job(child, ctx.job.cancel_requested_by)
            ctx.log(f"Cancelled job #{child.pk} with the campaign; it stops at its next safe point.", LogLevel.WARNING)
        raise
    if child.status == JobStatus.SUCCEEDED:
        return StepResult(f"Job #{child.pk} succeeded.")
    raise StepFailed(f"Job #{child.pk} {child.get_status_display().lower()}: {child.error or 'see its log'}",
                     retry=False)
