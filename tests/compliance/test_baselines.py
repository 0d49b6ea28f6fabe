"""Baselines: rules kept current, assignment inherited down the tree, exemptions, resets to Unknown."""
import datetime as dt

import pytest

from compliance import baselines as bl
from compliance.choices import ComplianceState, UpdateState
from compliance.evaluation import ScanResult, record_scan, update_key, updates_to_install
from compliance.models import Baseline, BaselineCompliance, HostCompliance, UpdateStatus
from tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = dt.date(2024, 3, 1)


def keys(*updates):
    out = set()
    for u in updates:
        out |= update_key(u.update_id, u.kb)
    return out


def state(host):
    return HostCompliance.objects.get(host=host).state


def test_rule_takes_classification_severity_and_age_and_skips_superseded_and_declined():
    old_crit = f.update(severity="Critical", released=dt.date(2024, 1, 9))
    f.update(severity="Low", released=dt.date(2024, 1, 9))
    f.update(severity="Critical", released=dt.date(2024, 2, 25))  # too recent for a 14-day soak
    f.update(severity="Important", classification="Updates", released=dt.date(2024, 1, 9))
    f.update(severity="Critical", released=dt.date(2024, 1, 9), superseded=True)
    f.update(severity="Critical", released=dt.date(2024, 1, 9), declined=True)
    baseline = Baseline.objects.create(
        name="Security, soaked", rule_enabled=True, rule_classifications=["Security Updates"],
        rule_severities=["Critical", "Important"], rule_released_days=14,
    )
    assert bl.refresh_rule(baseline, TODAY) == (1, 0)
    assert list(baseline.updates.all()) == [old_crit]


def test_rule_baseline_stays_current_at_each_sync_but_keeps_picked_updates():
    first = f.update(released=dt.date(2024, 1, 9))
    picked = f.update(classification="Updates", severity="")
    baseline = Baseline.objects.create(name="B", rule_enabled=True, rule_classifications=["Security Updates"])
    bl.set_picked_updates(baseline, [picked])
    bl.refresh_rule_baselines(TODAY)
    assert set(baseline.updates.all()) == {first, picked}
    # next sync: the first update got superseded by a newer one
    first.superseded = True
    first.save()
    newer = f.update(released=dt.date(2024, 2, 13))
    added, removed = bl.refresh_rule(baseline, TODAY)
    assert (added, removed) == (1, 1)
    assert set(baseline.updates.all()) == {newer, picked}


def test_sample_baselines_are_created_once():
    f.update(classification="Critical Updates", severity="")
    assert len(bl.ensure_sample_baselines()) == 2
    assert bl.ensure_sample_baselines() == []
    names = set(Baseline.objects.filter(is_sample=True).values_list("name", flat=True))
    assert names == {"Sample Baseline for Critical Updates", "Sample Baseline for Security Updates"}
    bl.refresh_rule_baselines(TODAY)
    assert Baseline.objects.get(name="Sample Baseline for Critical Updates").updates.count() == 1
    assert Baseline.objects.get(name="Sample Baseline for Security Updates").updates.count() == 0


def test_group_assignment_is_inherited_by_child_groups_and_their_clusters():
    prod = f.group("Production")
    rack = f.group("Rack 1", parent=prod)
    clu = f.cluster("HVC1", host_group=rack, nodes=2)
    lone = f.host("HV-LONE", host_group=rack)
    elsewhere = f.host("HV-LAB", host_group=f.group("Lab"))
    security = Baseline.objects.create(name="Security")
    critical = Baseline.objects.create(name="Critical")
    node_only = Baseline.objects.create(name="Node only")
    bl.assign(security, prod)
    bl.assign(critical, clu)
    node = clu.nodes.first()
    bl.assign(node_only, node)
    in_force = bl.baselines_by_host(list(clu.nodes.all()) + [lone, elsewhere])
    assert in_force[node.pk] == {security.pk, critical.pk, node_only.pk}
    assert in_force[clu.nodes.last().pk] == {security.pk, critical.pk}
    assert in_force[lone.pk] == {security.pk}
    assert in_force[elsewhere.pk] == set()
    assert set(bl.hosts_for_baseline(security)) == {*clu.nodes.all(), lone}


def test_assigning_twice_gives_one_assignment_and_wrong_target_is_refused():
    baseline = Baseline.objects.create(name="B")
    clu = f.cluster("HVC1", nodes=1)
    assert bl.assign(baseline, clu)[1] is True
    assert bl.assign(baseline, clu)[1] is False
    with pytest.raises(bl.AssignmentError):
        bl.assign(baseline, baseline)


def test_scan_gives_each_update_a_state_and_the_host_its_worst():
    host = f.host("HV1")
    a, b, c, d = (f.update() for _ in range(4))
    baseline = Baseline.objects.create(name="B")
    bl.set_picked_updates(baseline, [a, b, c, d])
    bl.assign(baseline, host)
    assert state(host) == ComplianceState.UNKNOWN
    record_scan(host, ScanResult(installed=keys(a), missing=keys(b), pending=keys(c)))
    by_update = dict(UpdateStatus.objects.filter(host=host).values_list("update__kb", "state"))
    assert by_update == {a.kb: "installed", b.kb: "missing", c.kb: "pending_reboot", d.kb: "not_applicable"}
    assert state(host) == ComplianceState.NON_COMPLIANT
    assert [u.kb for u in updates_to_install(host, ScanResult(missing=keys(b)))] == [b.kb]
    record_scan(host, ScanResult(installed=keys(a, b), pending=keys(c), reboot_pending=True))
    assert state(host) == ComplianceState.PENDING_REBOOT
    record_scan(host, ScanResult(installed=keys(a, b, c)))
    assert state(host) == ComplianceState.COMPLIANT


def test_exemption_turns_missing_into_exempt_and_back_and_is_left_out_of_installs(operator):
    host = f.host("HV1")
    needed, waived = f.update(), f.update()
    baseline = Baseline.objects.create(name="B")
    bl.set_picked_updates(baseline, [needed, waived])
    bl.assign(baseline, host)
    scan = ScanResult(installed=keys(needed), missing=keys(waived))
    record_scan(host, scan)
    assert state(host) == ComplianceState.NON_COMPLIANT
    with pytest.raises(ValueError):
        bl.exempt(host, waived, "  ", operator)
    exemption = bl.exempt(host, waived, "Breaks the backup agent, vendor fix pending", operator)
    assert exemption.created_by_name == "otto"
    assert UpdateStatus.objects.get(host=host, update=waived).state == UpdateState.EXEMPT
    assert state(host) == ComplianceState.COMPLIANT
    assert updates_to_install(host, scan) == []
    bl.remove_exemption(exemption)
    assert state(host) == ComplianceState.NON_COMPLIANT


def test_changing_a_baseline_resets_its_hosts_to_unknown():
    clu = f.cluster("HVC1", nodes=2)
    other = f.host("HV-OTHER")
    a, b = f.update(), f.update()
    baseline = Baseline.objects.create(name="B")
    bl.set_picked_updates(baseline, [a])
    bl.assign(baseline, clu)
    bl.assign(Baseline.objects.create(name="Other"), other)
    for host in [*clu.nodes.all(), other]:
        record_scan(host, ScanResult(installed=keys(a)))
    assert {state(h) for h in clu.nodes.all()} == {ComplianceState.COMPLIANT}
    revision = baseline.revision
    bl.set_picked_updates(baseline, [a, b])
    assert Baseline.objects.get(pk=baseline.pk).revision == revision + 1
    assert {state(h) for h in clu.nodes.all()} == {ComplianceState.UNKNOWN}
    assert state(other) == ComplianceState.COMPLIANT
    assert not UpdateStatus.objects.filter(host__cluster=clu).exists()


def test_moving_a_host_to_another_group_resets_it_to_unknown():
    prod, lab = f.group("Production"), f.group("Lab")
    host = f.host("HV1", host_group=prod)
    a = f.update()
    baseline = Baseline.objects.create(name="B")
    bl.set_picked_updates(baseline, [a])
    bl.assign(baseline, prod)
    bl.assign(baseline, lab)
    record_scan(host, ScanResult(installed=keys(a)))
    assert state(host) == ComplianceState.COMPLIANT
    host.status_reason = "refreshed"
    host.save()  # a save that does not move it changes nothing
    assert state(host) == ComplianceState.COMPLIANT
    host.host_group = lab
    host.save()
    assert state(host) == ComplianceState.UNKNOWN


def test_unassigning_removes_the_baseline_rows_but_keeps_inherited_ones():
    prod = f.group("Production")
    host = f.host("HV1", host_group=prod)
    a = f.update()
    baseline = Baseline.objects.create(name="B")
    bl.set_picked_updates(baseline, [a])
    by_group, _ = bl.assign(baseline, prod)
    by_host, _ = bl.assign(baseline, host)
    record_scan(host, ScanResult(missing=keys(a)))
    bl.unassign(by_host)
    assert BaselineCompliance.objects.filter(host=host, baseline=baseline).exists()  # still via the group
    bl.unassign(by_group)
    assert not BaselineCompliance.objects.filter(host=host).exists()
    assert state(host) == ComplianceState.UNKNOWN


def test_a_failed_scan_is_error_with_the_reason():
    from compliance.evaluation import record_scan_error

    host = f.host("HV1")
    bl.assign(Baseline.objects.create(name="B"), host)
    record_scan_error(host, "HV1 did not answer on 5986: connection refused")
    record = HostCompliance.objects.get(host=host)
    assert record.state == ComplianceState.ERROR and "connection refused" in record.error


def test_switching_the_rule_off_keeps_only_the_picked_updates():
    by_rule, picked = f.update(), f.update(classification="Updates", severity="")
    baseline = Baseline.objects.create(name="B", rule_enabled=True, rule_classifications=["Security Updates"])
    bl.set_picked_updates(baseline, [picked])
    bl.refresh_rule(baseline, TODAY)
    assert set(baseline.updates.all()) == {by_rule, picked}
    baseline.rule_enabled = False
    baseline.save()
    assert bl.refresh_rule(baseline, TODAY) == (0, 1)
    assert list(baseline.updates.all()) == [picked]
