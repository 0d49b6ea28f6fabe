"""The status vocabulary of jobs and steps, and which transitions are legal. Nothing else decides it."""
from django.db import models


class JobKind(models.TextChoices):
    """What a job does, as the pages name it. `Job.kind` stays free text (any app may add a kind);
    a kind missing here is shown from its value ("new_thing" → "New thing")."""

    COMPLIANCE_SCAN = "compliance_scan", "Compliance scan"
    REMEDIATION = "remediation", "Remediation"
    ROLLING_UPGRADE = "rolling_upgrade", "Cluster upgrade"
    UPDATE_VERSION = "update_version", "Update version"  # raise the cluster functional level
    UPDATE_SYNC = "update_sync", "Update catalog sync"
    DISCOVERY = "discovery", "Discovery"
    REFRESH = "refresh", "Refresh"


def kind_label(kind: str) -> str:
    if kind in JobKind.values:
        return JobKind(kind).label
    return kind.replace("_", " ").capitalize() or "—"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # waiting for a worker (new, restarted, or resumed by the reaper)
    RUNNING = "running", "Running"  # a worker holds the lease and runs steps
    CANCELLING = "cancelling", "Cancelling"  # cancel saved; honoured at the next safe point
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # a step failed beyond the failure policy; can be restarted
    CANCELLED = "cancelled", "Cancelled"  # can be restarted


ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CANCELLING})
TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
RESTARTABLE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})

JOB_TRANSITIONS = {
    JobStatus.QUEUED: {JobStatus.RUNNING, JobStatus.CANCELLING, JobStatus.CANCELLED, JobStatus.FAILED},
    JobStatus.RUNNING: {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLING, JobStatus.CANCELLED},
    JobStatus.CANCELLING: {JobStatus.CANCELLED, JobStatus.SUCCEEDED, JobStatus.FAILED},
    JobStatus.SUCCEEDED: set(),
    JobStatus.FAILED: {JobStatus.QUEUED},  # restart
    JobStatus.CANCELLED: {JobStatus.QUEUED},  # restart
}


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # not started yet, or waiting for its next attempt
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # out of retries
    SKIPPED = "skipped", "Skipped"  # the step found nothing to do, or an operator restarted past it
    CANCELLED = "cancelled", "Cancelled"  # stopped at a safe point inside the step


STEP_DONE = frozenset({StepStatus.SUCCEEDED, StepStatus.SKIPPED})
STEP_FINISHED = frozenset({StepStatus.SUCCEEDED, StepStatus.SKIPPED, StepStatus.FAILED, StepStatus.CANCELLED})

STEP_TRANSITIONS = {
    StepStatus.PENDING: {StepStatus.RUNNING, StepStatus.SKIPPED},
    StepStatus.RUNNING: {
        StepStatus.SUCCEEDED,
        StepStatus.FAILED,
        StepStatus.SKIPPED,
        StepStatus.CANCELLED,
        StepStatus.PENDING,  # a failed attempt waiting for its retry
    },
    StepStatus.SUCCEEDED: set(),
    StepStatus.SKIPPED: set(),
    StepStatus.FAILED: {StepStatus.PENDING, StepStatus.SKIPPED},  # restart, restart skipping it
    StepStatus.CANCELLED: {StepStatus.PENDING, StepStatus.SKIPPED},  # restart
}


class FailureKind(models.TextChoices):
    NONE = "", "—"
    FAILED = "failed", "Failed"  # StepFailed: the step explained what is wrong
    ERROR = "error", "Unexpected error"  # any other exception: a bug or an unforeseen condition
    LOST = "lost", "Worker lost"  # the worker running the step died too many times
    TIMEOUT = "timeout", "Timed out"  # a wait passed its deadline


class LogLevel(models.TextChoices):
    DEBUG = "debug", "Debug"
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class InvalidTransition(Exception):
    """A state change that the vocabulary above does not allow, or that lost a race."""


def check_job_transition(old: str, new: str) -> None:
    if new not in JOB_TRANSITIONS[JobStatus(old)]:
        raise InvalidTransition(f"A {JobStatus(old).label.lower()} job cannot become {JobStatus(new).label.lower()}.")


def check_step_transition(old: str, new: str) -> None:
    if new not in STEP_TRANSITIONS[StepStatus(old)]:
        raise InvalidTransition(
            f"A {StepStatus(old).label.lower()} step cannot become {StepStatus(new).label.lower()}."
        )
