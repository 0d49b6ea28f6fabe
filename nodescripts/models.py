import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from fabric.agents.runner import END_MARK

DEFAULT_TIMEOUT_SECONDS = 300
MAX_TIMEOUT_SECONDS = 4 * 3600
# `exit` in the script would end the PowerShell that runs it, Ferry's wrapper with it, so its
# output and its verdict would be lost: a script fails with `throw` instead.
EXIT_STATEMENT = re.compile(r"(?im)(?:^|[;{}])\s*exit(?=\s|;|$|\})")


def _sendable(text: str) -> None:
    if "\x00" in text:
        raise ValidationError("The script contains a NUL character.")
    if EXIT_STATEMENT.search(text):
        raise ValidationError("Use throw 'why' to fail the node instead of exit: exit would end the PowerShell "
                              "that runs the script before Ferry can read its output.")
    if END_MARK in text:
        raise ValidationError(f"The script may not contain the line {END_MARK!r} (Ferry ends every script with it).")


class NodeScript(models.Model):
    """A PowerShell script kept in the library, run on a node as a step of a remediation."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    body = models.TextField(
        "PowerShell", validators=[_sendable],
        help_text="Runs on the node with $ErrorActionPreference = 'Stop'. Its output goes to the job log; a thrown "
                  "or written error, or a program it runs ending with a non-zero exit code, fails the node.",
    )
    timeout_seconds = models.PositiveIntegerField(
        "timeout (seconds)", default=DEFAULT_TIMEOUT_SECONDS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TIMEOUT_SECONDS)],
        help_text="The script is stopped and the node fails after this long.",
    )
    changed = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "node script"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("nodescripts:script_detail", args=[self.pk])

    def snapshot(self) -> dict:
        """What a job keeps of the script when it is submitted: later edits do not change a queued job."""
        return {"name": self.name, "body": self.body, "timeout": self.timeout_seconds}


class UnknownScript(ValueError):
    """A node script named for a job is not in the library."""


def copy_for_job(name: str) -> dict | None:
    """The job's copy of the library script `name` (None for "" = no script); UnknownScript when
    the library has none of that name."""
    if not name:
        return None
    script = NodeScript.objects.filter(name=name).first()
    if script is None:
        raise UnknownScript(f"There is no node script named {name!r} in the library.")
    return script.snapshot()
