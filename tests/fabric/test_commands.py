"""manage.py rotate_encryption_key and generate_fabric."""
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command, execute_from_command_line
from django.db.models import F

from fabric.choices import ClusterKind
from fabric.models import Cluster, FileShare, Host, HostGroup, RunAsAccount, VirtualMachine
from tests.fabric.test_secrets import stored_password

OLD, NEW, OTHER = (Fernet.generate_key().decode() for _ in range(3))


def run(*args, **kwargs) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_rotation_re_encrypts_under_the_first_key(settings, db):
    settings.FERRY_ENCRYPTION_KEY = OLD
    accounts = [RunAsAccount.objects.create(name=f"a{i}", username="u", password=f"secret-{i}") for i in range(3)]
    RunAsAccount.objects.create(name="empty", username="u", password="")
    before = [stored_password(a) for a in accounts]

    settings.FERRY_ENCRYPTION_KEY = f"{NEW},{OLD}"
    output = run("rotate_encryption_key")
    assert "fabric.RunAsAccount.password: 3 re-encrypted" in output
    assert "secret-" not in output and before[0] not in output

    settings.FERRY_ENCRYPTION_KEY = NEW  # the old key is gone: every value must still read back
    for i, account in enumerate(accounts):
        assert stored_password(account) != before[i]
        assert RunAsAccount.objects.get(pk=account.pk).password == f"secret-{i}"
    assert RunAsAccount.objects.get(name="empty").password == ""


def test_rotation_stops_with_nothing_changed_when_a_value_cannot_be_read(settings, db):
    settings.FERRY_ENCRYPTION_KEY = OLD
    readable = RunAsAccount.objects.create(name="ok", username="u", password="secret-ok")
    settings.FERRY_ENCRYPTION_KEY = OTHER
    RunAsAccount.objects.create(name="lost", username="u", password="secret-lost")
    before = stored_password(readable)

    settings.FERRY_ENCRYPTION_KEY = f"{NEW},{OLD}"
    with pytest.raises(CommandError) as excinfo:
        run("rotate_encryption_key")
    message = str(excinfo.value)
    assert "1 stored secret(s) cannot be decrypted" in message and "fabric.RunAsAccount.password" in message
    assert "secret-" not in message
    assert stored_password(readable) == before


def test_rotation_exits_non_zero_from_the_command_line(settings, db, capsys):
    settings.FERRY_ENCRYPTION_KEY = OTHER
    RunAsAccount.objects.create(name="lost", username="u", password="secret-lost")
    settings.FERRY_ENCRYPTION_KEY = NEW
    with pytest.raises(SystemExit) as excinfo:
        execute_from_command_line(["manage.py", "rotate_encryption_key", "--skip-checks"])
    assert excinfo.value.code == 1
    err = capsys.readouterr().err
    assert "cannot be decrypted" in err and "secret-lost" not in err


def test_generate_fabric_small_run(db):
    output = run("generate_fabric", hosts=10, vms=40, cluster_size=4, sofs_clusters=1, sofs_nodes=2, prefix="t")
    assert "3 Hyper-V clusters (10 hosts)" in output
    assert Cluster.objects.filter(kind=ClusterKind.HYPERV).count() == 3
    assert Host.objects.filter(cluster__kind=ClusterKind.HYPERV).count() == 10
    assert Host.objects.filter(cluster__kind=ClusterKind.SOFS).count() == 2
    assert FileShare.objects.count() == 4
    assert VirtualMachine.objects.count() == 40
    # every VM runs on a node of its own cluster
    assert not VirtualMachine.objects.exclude(cluster_id=F("host__cluster_id")).exists()
    for node in Host.objects.all():
        node.full_clean()  # generated data passes the same validation as typed data

    with pytest.raises(CommandError, match="--replace"):
        run("generate_fabric", hosts=2, vms=0, prefix="t")
    run("generate_fabric", hosts=2, vms=4, cluster_size=2, sofs_clusters=0, prefix="t", replace=True)
    assert Host.objects.count() == 2 and VirtualMachine.objects.count() == 4
    assert HostGroup.objects.filter(name="Storage").count() == 0

