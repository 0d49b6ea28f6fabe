"""Turn what a host's Windows Update agent reports into compliance rows and states.

A scan result says, for the updates the host knows about, which are installed, which are
installed but wait for a restart, and which are missing (applicable, not installed). Each
baseline update in force on the host then gets one state: installed, pending reboot, missing,
exempt (missing, but exempted for this host), failed (the last install of it failed), or not
applicable (the agent did not offer it: another OS, another role).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from compliance.choices import BLOCKING_UPDATE_STATES, ComplianceState, UpdateState, worst_state
from compliance.models import (
    Baseline,
    BaselineCompliance,
    BaselineUpdate,
    Exemption,
    HostCompliance,
    Update,
    UpdateStatus,
)
from fabric.models import Host


def update_key(update_id: str = "", kb: str = "") -> set[str]:
    """Keys an update is known by: its GUID and its KB number (either may be missing)."""
    keys = set()
    if update_id:
        keys.add("id:" + str(update_id).strip().lower())
    kb = str(kb or "").strip().upper().removeprefix("KB")
    if kb:
        keys.add("kb:" + kb)
    return keys


@dataclass
class ScanResult:
    """What one host's Windows Update agent reported. Sets hold keys from update_key()."""

    installed: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)  # installed, waiting for a restart
    missing: set[str] = field(default_factory=set)
    reboot_pending: bool = False

    def state_of(self, keys: set[str]) -> str:
        if keys & self.pending:
            return UpdateState.PENDING_REBOOT
        if keys & self.installed:
            return UpdateState.INSTALLED
        if keys & self.missing:
            return UpdateState.MISSING
        return UpdateState.NOT_APPLICABLE


def baseline_state(states: Iterable[str]) -> str:
    states = set(states)
    if UpdateState.FAILED in states:
        return ComplianceState.ERROR
    if UpdateState.MISSING in states:
        return ComplianceState.NON_COMPLIANT
    if UpdateState.PENDING_REBOOT in states:
        return ComplianceState.PENDING_REBOOT
    return ComplianceState.COMPLIANT


def _baseline_updates(baseline_ids) -> dict[int, list[Update]]:
    result: dict[int, list[Update]] = defaultdict(list)
    for entry in BaselineUpdate.objects.filter(baseline_id__in=baseline_ids).select_related("update"):
        result[entry.baseline_id].append(entry.update)
    return result


@transaction.atomic
def record_scan(host: Host, scan: ScanResult, when=None) -> str:
    """Store a successful scan of `host`; returns the host's new state."""
    from compliance.baselines import baselines_by_host

    when = when or timezone.now()
    baseline_ids = baselines_by_host([host])[host.pk]
    baselines = {b.pk: b for b in Baseline.objects.filter(pk__in=baseline_ids)}
    updates = _baseline_updates(baseline_ids)
    exempted = set(Exemption.objects.filter(host=host).values_list("update_id", flat=True))
    UpdateStatus.objects.filter(host=host).delete()
    rows = []
    for baseline_id, baseline in baselines.items():
        states = []
        for update in updates.get(baseline_id, []):
            state = scan.state_of(update_key(update.update_id, update.kb))
            if state == UpdateState.MISSING and update.pk in exempted:
                state = UpdateState.EXEMPT
            states.append(state)
            rows.append(UpdateStatus(host=host, baseline=baseline, update=update, state=state, checked=when))
        BaselineCompliance.objects.update_or_create(
            host=host, baseline=baseline,
            defaults={
                "state": baseline_state(states),
                "baseline_revision": baseline.revision,
                "missing_count": sum(1 for s in states if s in BLOCKING_UPDATE_STATES),
                "last_scan": when,
            },
        )
    UpdateStatus.objects.bulk_create(rows)
    BaselineCompliance.objects.filter(host=host).exclude(baseline_id__in=baseline_ids).delete()
    HostCompliance.objects.update_or_create(
        host=host, defaults={"pending_reboot": scan.reboot_pending, "last_scan": when, "error": ""}
    )
    return recompute_hosts([host])[host.pk]


@transaction.atomic
def record_scan_error(host: Host, message: str, when=None) -> None:
    """The host could not be scanned: Error with the reason, keeping what the last scan found."""
    HostCompliance.objects.update_or_create(
        host=host, defaults={"state": ComplianceState.ERROR, "error": message[:1000], "last_scan": when or timezone.now()}
    )


@transaction.atomic
def record_install(host: Host, installed: set[str], failed: dict[str, str], reboot_required: bool, when=None) -> None:
    """After an install: installed updates wait for a restart (or are done); failed ones say why."""
    when = when or timezone.now()
    done_state = UpdateState.PENDING_REBOOT if reboot_required else UpdateState.INSTALLED
    for status in UpdateStatus.objects.filter(host=host).select_related("update"):
        keys = update_key(status.update.update_id, status.update.kb)
        reason = next((failed[k] for k in keys if k in failed), None)
        if reason is not None:
            status.state, status.detail = UpdateState.FAILED, reason[:500]
        elif keys & installed:
            status.state, status.detail = done_state, ""
        else:
            continue
        status.checked = when
        status.save(update_fields=["state", "detail", "checked"])
    if reboot_required:
        HostCompliance.objects.update_or_create(host=host, defaults={"pending_reboot": True})
    _restate_baselines(host)


@transaction.atomic
def reapply_exemptions(host: Host) -> None:
    """An exemption was added or removed: missing ↔ exempt without waiting for a scan."""
    exempted = set(Exemption.objects.filter(host=host).values_list("update_id", flat=True))
    statuses = UpdateStatus.objects.filter(host=host)
    statuses.filter(update_id__in=exempted, state__in=BLOCKING_UPDATE_STATES).update(state=UpdateState.EXEMPT)
    statuses.filter(state=UpdateState.EXEMPT).exclude(update_id__in=exempted).update(state=UpdateState.MISSING)
    _restate_baselines(host)


def _restate_baselines(host: Host) -> None:
    per_baseline: dict[int, list[str]] = defaultdict(list)
    for baseline_id, state in UpdateStatus.objects.filter(host=host).values_list("baseline_id", "state"):
        per_baseline[baseline_id].append(state)
    for row in BaselineCompliance.objects.filter(host=host, last_scan__isnull=False):
        states = per_baseline.get(row.baseline_id, [])
        row.state = baseline_state(states)
        row.missing_count = sum(1 for s in states if s in BLOCKING_UPDATE_STATES)
        row.save(update_fields=["state", "missing_count"])
    recompute_hosts([host])


def recompute_hosts(hosts: Iterable[Host]) -> dict[int, str]:
    """Each host's overall state from its baselines (a baseline never scanned counts as Unknown), and
    how many baselines are in force on it. Every change of which baselines apply to a host (an
    assignment made or removed, a host added or moved) comes through here."""
    from compliance.baselines import baselines_by_host

    hosts = list(hosts)
    if not hosts:
        return {}
    in_force = baselines_by_host(hosts)
    rows: dict[int, dict[int, BaselineCompliance]] = defaultdict(dict)
    for row in BaselineCompliance.objects.filter(host__in=hosts):
        rows[row.host_id][row.baseline_id] = row
    current = {c.host_id: c for c in HostCompliance.objects.filter(host__in=hosts)}
    result = {}
    for host in hosts:
        record = current.get(host.pk) or HostCompliance(host=host)
        ids = in_force[host.pk]
        states = [rows[host.pk][b].state if b in rows[host.pk] else ComplianceState.UNKNOWN for b in ids]
        if record.error:
            state = ComplianceState.ERROR
        elif not ids:
            state = ComplianceState.UNKNOWN
        else:
            state = worst_state(states)
            if state == ComplianceState.COMPLIANT and record.pending_reboot:
                state = ComplianceState.PENDING_REBOOT
        record.state = state
        record.missing_count = sum(rows[host.pk][b].missing_count for b in ids if b in rows[host.pk])
        record.baselines_in_force = len(ids)
        record.save()
        result[host.pk] = state
    return result


def updates_to_install(host: Host, scan: ScanResult) -> list[Update]:
    """The baseline updates in force on `host` that the host is missing now, minus its exemptions."""
    from compliance.baselines import baselines_by_host

    baseline_ids = baselines_by_host([host])[host.pk]
    exempted = set(Exemption.objects.filter(host=host).values_list("update_id", flat=True))
    wanted, seen = [], set()
    for entries in _baseline_updates(baseline_ids).values():
        for update in entries:
            if update.pk in seen or update.pk in exempted:
                continue
            seen.add(update.pk)
            if scan.state_of(update_key(update.update_id, update.kb)) == UpdateState.MISSING:
                wanted.append(update)
    return sorted(wanted, key=lambda u: (u.release_date or timezone.localdate(), u.kb))


def cluster_state(node_states: Iterable[str]) -> str:
    return worst_state(node_states)
