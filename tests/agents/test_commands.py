"""The command line for automation: clear messages, non-zero exit on failure, secrets never shown."""
import io
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fabric.models import Cluster, Host, HostGroup, RunAsAccount
from tests.agents.conftest import inventory_snapshot

pytestmark = [pytest.mark.django_db, pytest.mark.lab]


def run(*args, stdin: str | None = None, monkeypatch=None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def https_args(lab, name) -> list[str]:
    entry = lab.entry(name)
    return [entry["address"], "--port", str(lab.endpoints["lab"]["ports"]["winrm_https"]),
            "--ca-path", lab.endpoints["ca_path"]]


def test_add_runas_reads_the_password_from_stdin_and_never_prints_it(monkeypatch):
    out, err = run("add_runas", "svc", "--username", "CONTOSO\\svc", stdin="S3cret-Pw!\n", monkeypatch=monkeypatch)
    account = RunAsAccount.objects.get(name="svc")
    assert account.password == "S3cret-Pw!" and "S3cret-Pw!" not in out + err
    run("add_runas", "svc", "--username", "CONTOSO\\svc2", stdin="Other-Pw\n", monkeypatch=monkeypatch)
    assert RunAsAccount.objects.get(name="svc").username == "CONTOSO\\svc2"  # updated, not duplicated
    with pytest.raises(CommandError, match="No password"):
        run("add_runas", "empty", "--username", "u", stdin="", monkeypatch=monkeypatch)


def test_add_cluster_then_refresh(lab, monkeypatch):
    winrm = lab.entry("ACL19")["winrm"]
    run("add_runas", "lab", "--username", winrm["username"], stdin=winrm["password"] + "\n", monkeypatch=monkeypatch)
    HostGroup.objects.create(name="Paris", parent=HostGroup.root())
    out, _ = run("add_cluster", *https_args(lab, "ACL19"), "--run-as", "lab", "--host-group", "Paris")
    assert "ACL19: 3 nodes, 6 VMs" in out and winrm["password"] not in out
    assert Cluster.objects.get(name="ACL19").host_group.name == "Paris"
    out, _ = run("add_host", *https_args(lab, "A-SA1"), "--run-as", "lab", "--transport", "basic",
                 "--allow-insecure")
    assert "A-SA1" in out and Host.objects.get(name="A-SA1").cluster is None
    out, _ = run("add_update_server", *https_args(lab, "AWSUS"), "--run-as", "lab")
    assert "AWSUS" in out
    out, _ = run("add_deployment_server", *https_args(lab, "AWDS"), "--run-as", "lab")
    assert "AWDS" in out
    out, _ = run("refresh", "acl19")
    assert "Refreshed 1 target" in out
    out, _ = run("refresh")
    assert "Refreshed 2 targets" in out  # the cluster and the standalone host


def test_failures_exit_non_zero_with_the_reason_and_change_nothing(lab, monkeypatch):
    winrm = lab.entry("ACL19")["winrm"]
    run("add_runas", "wrong", "--username", winrm["username"], stdin="Not-It\n", monkeypatch=monkeypatch)
    before = inventory_snapshot()
    with pytest.raises(CommandError, match="rejected the credentials of Run As account 'wrong'"):
        run("add_cluster", *https_args(lab, "ACL19"), "--run-as", "wrong")
    with pytest.raises(CommandError, match="no Run As account named 'nobody'"):
        run("add_cluster", *https_args(lab, "ACL19"), "--run-as", "nobody")
    with pytest.raises(CommandError, match="--allow-insecure"):
        run("add_host", *https_args(lab, "A-SA1"), "--run-as", "wrong", "--transport", "basic")
    with pytest.raises(CommandError, match="No host group"):
        run("add_cluster", *https_args(lab, "ACL19"), "--run-as", "wrong", "--host-group", "Atlantis")
    with pytest.raises(CommandError, match="No cluster or host is named"):
        run("refresh", "nothing-here")
    after = inventory_snapshot()
    # Nothing changed but the audit log: the two discoveries that reached the point of asking are in it.
    audited = after.pop("AuditEntry")[len(before.pop("AuditEntry")):]
    assert after == before
    assert len(audited) == 2 and all("discovery from the command line failed" in row for row in audited)


def test_refresh_exits_non_zero_when_a_machine_does_not_answer(lab, monkeypatch):
    winrm = lab.entry("ACL19")["winrm"]
    run("add_runas", "lab", "--username", winrm["username"], stdin=winrm["password"] + "\n", monkeypatch=monkeypatch)
    run("add_host", *https_args(lab, "A-SA1"), "--run-as", "lab", "--transport", "basic", "--allow-insecure")
    Host.objects.filter(name="A-SA1").update(address="127.0.10.222")
    with pytest.raises(CommandError, match="did not fully answer"):
        run("refresh", "A-SA1")
    assert Host.objects.get(name="A-SA1").status == "not_responding"


def test_the_periodic_refresh_schedule_and_its_task(lab, monkeypatch):
    from django_q.models import Schedule

    from fabric.tasks import refresh_target

    run("refresh", "--schedule", "5")
    schedule = Schedule.objects.get(name="Refresh the fabric")
    assert schedule.func == "fabric.tasks.refresh_fabric" and schedule.minutes == 5
    run("refresh", "--schedule", "0")
    assert not Schedule.objects.filter(name="Refresh the fabric").exists()

    winrm = lab.entry("ACL19")["winrm"]
    run("add_runas", "lab", "--username", winrm["username"], stdin=winrm["password"] + "\n", monkeypatch=monkeypatch)
    run("add_cluster", *https_args(lab, "ACL19"), "--run-as", "lab")
    cluster = Cluster.objects.get(name="ACL19")
    Cluster.objects.filter(pk=cluster.pk).update(last_refreshed=None)
    assert refresh_target("cluster", cluster.pk) == []
    cluster.refresh_from_db()
    assert cluster.last_refreshed is not None
    assert refresh_target("cluster", 999999) == []  # removed meanwhile: nothing to do
