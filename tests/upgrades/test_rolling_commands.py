"""`add_profile` and `upgrade_cluster` against the lab: settings from a file, missing settings named
with their node and key, the dry run, and --wait following the job to its end."""
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.models import AuditEntry
from fabric.models import Host, PhysicalComputerProfile
from tests.upgrades.rolling_lab import bring_in
from tests.upgrades.test_rolling_job import lab  # noqa: F401  (the rolling lab fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lab]


def test_add_profile_names_what_is_wrong(lab):  # noqa: F811
    bring_in(lab)
    out = StringIO()
    call_command("add_profile", "CLI hosts", "--image", "Windows Server 2022 SERVERDATACENTER (WS2022 on RUWDS)",
                 "--domain", "contoso.com", "--run-as", "lab", stdout=out)
    assert "created" in out.getvalue()
    assert PhysicalComputerProfile.objects.get(name="CLI hosts").domain == "contoso.com"
    with pytest.raises(CommandError, match="No library image is named 'nope'"):
        call_command("add_profile", "X", "--image", "nope", stdout=StringIO())
    with pytest.raises(CommandError, match="needs a Run As account"):
        call_command("add_profile", "Y", "--image", "Windows Server 2022 SERVERDATACENTER (WS2022 on RUWDS)",
                     "--domain", "contoso.com", stdout=StringIO())
    assert not PhysicalComputerProfile.objects.filter(name="Y").exists()
    assert AuditEntry.objects.filter(detail__startswith="image Windows Server 2022").count() == 1


def test_upgrade_cluster_from_the_command_line(lab, tmp_path, monkeypatch):  # noqa: F811
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)      # the job runs inline, as a worker would run it
    from tests.upgrades.rolling_lab import request_for
    from upgrades.orchestration import missing_settings, plan_upgrade

    cluster, profile, bmc_run_as, subnet = bring_in(lab)
    Host.objects.update(bmc_address=None, management_mac="")   # what Ferry knows of nodes it never provisioned
    # the wizard's Missing Settings: no BMC, no MAC; the IP settings come from the subnet the node is in
    assert missing_settings(cluster, profile) == {h.pk: ["bmc_address", "management_mac"] for h in cluster.nodes.all()}
    plan = plan_upgrade(request_for(lab, cluster, profile, bmc_run_as, subnet))
    assert plan.target == "Windows Server 2022" and len(plan.nodes) == 4 and plan.ok
    assert "functional level of RU19 to 11" in plan.functional_level and "point of no return" in plan.point_of_no_return
    base = ["RU19", "--profile", "WS2022 hosts", "--bmc-run-as", "lab BMC", "--nodes", "RU-N1",
            "--no-functional-level"]
    with pytest.raises(CommandError, match=r"RU-N1: missing bmc_address, management_mac"):
        call_command("upgrade_cluster", *base, stdout=StringIO())

    entry = lab.entry("RU-N1")
    settings = tmp_path / "nodes.json"
    settings.write_text(json.dumps({"RU-N1": {"bmc_address": entry["bmc"]["address"], "bmc_port": entry["bmc"]["port"],
                                              "management_mac": entry["mac"], "subnet": "Management lab",
                                              "ip": entry["address"], "colour": "blue"}}))
    with pytest.raises(CommandError, match="RU-N1: unknown setting.*colour"):
        call_command("upgrade_cluster", *base, "--node-settings", str(settings), stdout=StringIO())
    values = json.loads(settings.read_text())
    del values["RU-N1"]["colour"]
    values["RU-N1"]["ip"] = "10.9.9.9"
    settings.write_text(json.dumps(values))
    with pytest.raises(CommandError, match=r"RU-N1: ip 10.9.9.9 is not inside the subnet Management lab"):
        call_command("upgrade_cluster", *base, "--node-settings", str(settings), stdout=StringIO())
    values["RU-N1"]["ip"] = entry["address"]
    settings.write_text(json.dumps(values))

    out = StringIO()
    call_command("upgrade_cluster", *base, "--node-settings", str(settings), "--dry-run", stdout=out)
    text = out.getvalue()
    assert "[ok] BMC of RU-N1" in text and "Evict RU-N1 from the cluster" in text and "ru-vm1 →" in text
    assert not AuditEntry.objects.filter(detail__startswith="rolling upgrade requested").exists()

    out = StringIO()
    call_command("upgrade_cluster", *base, "--node-settings", str(settings), "--wait", stdout=out)
    text = out.getvalue()
    assert "succeeded" in text and "Re-image RU-N1" in text, text
    assert Host.objects.get(name="RU-N1").os_build == 20348
    assert AuditEntry.objects.filter(detail__startswith="rolling upgrade requested: RU19").count() == 1
    lab.assert_invariants_held()
