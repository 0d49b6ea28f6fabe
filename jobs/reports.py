"""The run report of a finished job: per node, each step's times, the VMs moved and where, the
updates installed, the failures and the log.

It is read from what the steps keep: their times and messages, their checkpoint data (an
evacuation records `moved` {vm id: [target, memory, name]}, `saved` {vm id: name} and, on a file
server, `storage_moved` [[kind, name, target]]; an update install records `installed`
[{id, kb}]) and the job's log.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from core.tables import _inert as inert  # the list exports' guard against cells read as formulas
from jobs.models import Job, JobLogEntry, JobStep

CSV_COLUMNS = ["job", "node", "step", "status", "started", "finished", "seconds", "attempts", "vms_moved",
               "vms_saved", "updates_installed", "message"]


@dataclass
class StepLine:
    step: JobStep
    moved: list[tuple[str, str]] = field(default_factory=list)    # (VM, node it went to)
    saved: list[str] = field(default_factory=list)
    installed: list[str] = field(default_factory=list)           # "KB5031234" (or the update id)

    @property
    def seconds(self) -> int | None:
        if self.step.started and self.step.finished:
            return round((self.step.finished - self.step.started).total_seconds())
        return None


@dataclass
class NodeSection:
    name: str
    status: str
    lines: list[StepLine]
    log: list[JobLogEntry]

    @property
    def moved(self):
        return [m for line in self.lines for m in line.moved]

    @property
    def installed(self):
        return [kb for line in self.lines for kb in line.installed]

    @property
    def failures(self):
        return [line.step for line in self.lines if line.step.status == "failed"]


@dataclass
class RunReport:
    job: Job
    sections: list[NodeSection]   # the job's own steps (no node) first, as a section named ""


def _line(step: JobStep) -> StepLine:
    data = step.data or {}
    line = StepLine(step)
    for target, _memory, name in (data.get("moved") or {}).values():
        line.moved.append((name, target))
    for kind, name, target in data.get("storage_moved") or []:
        line.moved.append((f"{kind} {name}", target))
    line.saved = sorted((data.get("saved") or {}).values())
    line.installed = [f"KB{u['kb']}" if u.get("kb") else u.get("id", "") for u in data.get("installed") or []]
    return line


def build(job: Job) -> RunReport:
    steps = list(JobStep.objects.filter(job=job).order_by("order"))
    entries = list(JobLogEntry.objects.filter(job=job).select_related("step").order_by("id"))
    groups = {s.pk: s for s in steps if s.is_group}
    own = NodeSection("", job.status, [], [])
    sections = {pk: NodeSection(g.title, g.status, [], []) for pk, g in groups.items()}
    section_of = {}
    for step in steps:
        if step.is_group:
            continue
        section = sections.get(step.parent_id, own)
        section.lines.append(_line(step))
        section_of[step.pk] = section
    for entry in entries:
        section_of.get(entry.step_id, own).log.append(entry)
    ordered = [own] if own.lines or own.log else []
    return RunReport(job, ordered + list(sections.values()))


def as_csv(report: RunReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for section in report.sections:
        for line in section.lines:
            step = line.step
            writer.writerow(inert(cell) for cell in [
                report.job.pk, section.name, step.title, step.status,
                step.started.isoformat() if step.started else "", step.finished.isoformat() if step.finished else "",
                "" if line.seconds is None else line.seconds, step.attempts,
                "; ".join(f"{vm} -> {target}" for vm, target in line.moved), "; ".join(line.saved),
                "; ".join(line.installed), step.message,
            ])
    return out.getvalue()
