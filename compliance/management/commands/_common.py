"""Shared by the compliance commands: naming targets, following a job until it ends."""
import time

from django.core.management.base import CommandError

from fabric.models import Cluster, Host, HostGroup
from jobs.choices import TERMINAL, JobStatus
from jobs.models import Job, JobStep

KINDS = {"cluster": Cluster, "host": Host, "group": HostGroup}


def resolve_target(text: str):
    """A cluster, host or host group by name ("cluster:NAME", "host:NAME", "group:NAME" or
    a host-group path "All Hosts/Production" when a name is ambiguous)."""
    text = (text or "").strip()
    if not text:
        raise CommandError("Name a cluster, host or host group.")
    kind, _, name = text.partition(":")
    if name and kind in KINDS:
        found = _by_name(KINDS[kind], name)
        if found is None:
            raise CommandError(f"No {kind} is named {name!r}.")
        return found
    found = [obj for model in (Cluster, Host, HostGroup) if (obj := _by_name(model, text)) is not None]
    if not found:
        raise CommandError(f"No cluster, host or host group is named {text!r}.")
    if len(found) > 1:
        kinds = ", ".join(f"{type(o).__name__.lower()}:{text}" for o in found)
        raise CommandError(f"{text!r} names more than one thing; say which: {kinds}.")
    return found[0]


def _by_name(model, name: str):
    if model is HostGroup and "/" in name:
        parts = [p.strip() for p in name.strip("/").split("/") if p.strip()]
        group = HostGroup.objects.filter(parent__isnull=True, name__iexact=parts[0]).first()
        for part in parts[1:]:
            group = group and group.children.filter(name__iexact=part).first()
        return group
    matches = list(model.objects.filter(name__iexact=name)[:2])
    if len(matches) > 1:
        raise CommandError(f"More than one {model._meta.verbose_name} is named {name!r}; give its path.")
    return matches[0] if matches else None


def follow(job: Job, write, *, poll: float = 0.5, quiet_queue_warning: float = 15.0) -> Job:
    """Print every step as it changes until the job ends; returns the finished job."""
    seen: dict[int, tuple] = {}
    warned = False
    started = time.monotonic()
    write(f"Job #{job.pk}: {job.title}")
    while True:
        job.refresh_from_db()
        steps = JobStep.objects.filter(job=job, is_group=False).select_related("parent").order_by("order")
        for step in steps:
            key = (step.status, step.message, step.waiting_for)
            if seen.get(step.pk) == key or (step.pk not in seen and step.status == "pending" and not step.message):
                seen.setdefault(step.pk, key)
                continue
            seen[step.pk] = key
            lane = f"{step.parent.title} › " if step.parent_id else ""
            extra = step.message or (f"waiting for {step.waiting_for}" if step.waiting_for else "")
            write(f"  {lane}{step.title}: {step.get_status_display().lower()}" + (f" — {extra}" if extra else ""))
        if job.status in TERMINAL:
            return job
        if job.status == JobStatus.QUEUED and not job.lease_owner and not warned \
                and time.monotonic() - started > quiet_queue_warning:
            write("  (still queued: is a worker running? start one with `manage.py qcluster`)")
            warned = True
        time.sleep(poll)


def finish(command, job: Job) -> None:
    """Exit 0 only when the job succeeded."""
    if job.status == JobStatus.SUCCEEDED:
        command.stdout.write(command.style.SUCCESS(f"Job #{job.pk} succeeded."))
        return
    raise CommandError(f"Job #{job.pk} {job.get_status_display().lower()}: {job.error or 'see the job log'}")
