"""One host's compliance scan: what Windows Update says is missing, what is installed, restart pending."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from django.db import connection

from compliance.choices import UpdateState
from compliance.evaluation import ScanResult, record_scan, record_scan_error, update_key
from compliance.models import UpdateStatus
from fabric import agents
from fabric.agents.updates import AvailableUpdate, ComplianceScan, get_installed_updates, scan_compliance
from fabric.models import Host
from fabric.nodeops.live import host_connection


@dataclass
class HostScan:
    state: str
    result: ScanResult
    missing: list[AvailableUpdate]  # everything the agent offers, in a baseline or not


def ask(host: Host) -> ComplianceScan:
    """Ask the host (one round trip; touches no database: safe in a worker thread)."""
    return scan_compliance(host_connection(host))


def interpret(host: Host, answer: ComplianceScan) -> ScanResult:
    installed_keys = {"kb:" + kb for kb in answer.installed_kbs}
    missing_keys: set[str] = set()
    for update in answer.missing:
        missing_keys |= update_key(update.update_id, update.kb)
    pending: set[str] = set()
    if answer.pending_reboot:
        # Windows does not say which installed update waits for the restart: the ones Ferry saw
        # installed with a restart pending still do until the host restarts.
        for status in UpdateStatus.objects.filter(host=host, state=UpdateState.PENDING_REBOOT).select_related("update"):
            keys = update_key(status.update.update_id, status.update.kb)
            if keys & installed_keys:
                pending |= keys
    return ScanResult(installed=installed_keys, pending=pending, missing=missing_keys,
                      reboot_pending=answer.pending_reboot)


_writers: threading.BoundedSemaphore | None = None
_writers_lock = threading.Lock()


def _database_writers() -> threading.BoundedSemaphore:
    """How many scans of this process store their results at once: one on SQLite (a writer at a time
    anyway; waiting here costs nothing, waiting on SQLite's lock runs into its busy timeout), a few
    on PostgreSQL."""
    global _writers
    with _writers_lock:
        if _writers is None:
            _writers = threading.BoundedSemaphore(1 if connection.vendor == "sqlite" else 4)
        return _writers


def scan_host(host: Host) -> HostScan:
    """Scan and store. An agent error is stored as the host's Error state and raised again.

    A scan waits seconds to minutes for the host while holding nothing: its database connection is
    given back before the wait, so hundreds of scans at once do not hold hundreds of connections."""
    if not connection.in_atomic_block:
        connection.close()
    try:
        answer = ask(host)
    except agents.AgentError as error:
        with _database_writers():
            record_scan_error(host, str(error))
        raise
    with _database_writers():
        result = interpret(host, answer)
        return HostScan(record_scan(host, result), result, answer.missing)


def check_installed(host: Host) -> HostScan:
    """A quick re-check against the last full scan: which of its updates Get-HotFix now lists.

    Used around remediation (before draining a node, after it is back) where a full Windows
    Update scan would only repeat what the last one found. Updates the last scan found not
    applicable stay so; the full scan (scan jobs, the remediation's first step) stays the authority.
    """
    conn = host_connection(host)
    try:
        facts = get_installed_updates(conn)
    except agents.AgentError as error:
        record_scan_error(host, str(error))
        raise
    installed_now = {"kb:" + kb for kb in facts.kbs}
    result = ScanResult(reboot_pending=facts.pending_reboot)
    was_missing = (UpdateState.MISSING, UpdateState.FAILED, UpdateState.EXEMPT, UpdateState.PENDING_REBOOT)
    for status in UpdateStatus.objects.filter(host=host).select_related("update"):
        keys = update_key(status.update.update_id, status.update.kb)
        if keys & installed_now:
            if facts.pending_reboot and status.state in was_missing:
                result.pending |= keys
            else:
                result.installed |= keys
        elif status.state != UpdateState.NOT_APPLICABLE:
            result.missing |= keys
    return HostScan(record_scan(host, result), result, [])
