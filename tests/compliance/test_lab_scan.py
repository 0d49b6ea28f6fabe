"""Against the lab: a scan of many hosts scans at most FERRY_SCAN_CONCURRENCY of them at once (seen
from the lab's own record of when each host's Windows Update scan started and ended), and every
host still gets its result."""
import pytest

from compliance.models import HostCompliance
from fabric.models import Host

from .labenv import bring_in, scan_all

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def most_at_once(events) -> int:
    running = peak = 0
    for event in events:
        if event["event"] == "wu-scan-started":
            running += 1
            peak = max(peak, running)
        elif event["event"] == "wu-scan":
            running -= 1
    return peak


def test_a_scan_never_runs_more_hosts_at_once_than_its_bound(lab, monkeypatch):
    bring_in(lab)
    seen = len(lab.events())
    monkeypatch.setenv("FERRY_SCAN_CONCURRENCY", "2")
    job = scan_all()
    assert job.status == "succeeded"
    hosts = set(Host.objects.values_list("name", flat=True))
    assert len(hosts) > 2
    events = lab.events()[seen:]
    assert {e["host"] for e in events if e["event"] == "wu-scan"} == hosts
    assert most_at_once(events) <= 2
    assert set(HostCompliance.objects.values_list("host__name", flat=True)) == hosts
    assert not HostCompliance.objects.filter(state="error").exists()
