"""A 3-node 2019 Scale-Out File Server whose share holds the VMs of a 3-node 2019 Hyper-V cluster,
BMCs on every node and a WDS holding a 2022 VHDX: the two clusters an upgrade campaign upgrades,
the file server first."""
from __future__ import annotations

TOPOLOGY = """
[lab]
name = "upgrade-campaign"
domain = "contoso.com"
speed = 100.0
paused_vm_grace_seconds = 600.0

[defaults]
memory_gb = 64.0
reboot_seconds = 20.0
boot_seconds = 20.0
deploy_seconds = 60.0
shutdown_seconds = 2.0
credssp = true

[[clusters]]
name = "UCFS"
kind = "sofs"
witness = true
sofs_roles = ["UCSOFS"]
shares = [{ name = "VMStore1", path = "C:\\\\ClusterStorage\\\\Volume1\\\\Shares\\\\VMStore1" }]
csvs = [{ name = "Cluster Disk 1" }]

[[clusters.nodes]]
name = "UCF-N1"
os = "2019"

[[clusters.nodes]]
name = "UCF-N2"
os = "2019"

[[clusters.nodes]]
name = "UCF-N3"
os = "2019"

[[clusters]]
name = "UCHV"
kind = "hyperv"
witness = true
vms = [
  { name = "uc-vm1", owner = "UCH-N1", memory_gb = 8.0, path = "\\\\\\\\UCSOFS\\\\VMStore1\\\\uc-vm1" },
  { name = "uc-vm2", owner = "UCH-N2", memory_gb = 4.0, path = "\\\\\\\\UCSOFS\\\\VMStore1\\\\uc-vm2" },
]

[[clusters.nodes]]
name = "UCH-N1"
os = "2019"

[[clusters.nodes]]
name = "UCH-N2"
os = "2019"

[[clusters.nodes]]
name = "UCH-N3"
os = "2019"

[deployment_server]
name = "UCWDS"
os = "2022"
bmc = false
images = [{ name = "Windows Server 2022 SERVERDATACENTER", os = "2022", group = "WS2022", file = "WS2022.vhdx" }]
"""

FILE_SERVER, HYPERV = "UCFS", "UCHV"
VMS = ["uc-vm1", "uc-vm2"]


def bring_in_both(lab):
    """Both clusters added as an operator would (rolling_lab.bring_in for the file server, the same
    Run As account for the Hyper-V cluster), each node's BMC known as after an earlier provisioning,
    and a profile for the file servers besides the hosts' one: (file server, Hyper-V cluster, hosts'
    profile, file servers' profile, BMC Run As account)."""
    from fabric.models import Host, PhysicalComputerProfile, RunAsAccount
    from tests.compliance.labenv import discover_more
    from tests.upgrades.rolling_lab import bring_in

    file_server, profile, bmc_run_as, _ = bring_in(lab, FILE_SERVER)
    (hyperv,) = discover_more(lab, HYPERV)
    type(hyperv).objects.filter(pk=hyperv.pk).update(credssp_second_hop=True)
    Host.objects.filter(cluster=hyperv).update(credssp_second_hop=True)
    for node in Host.objects.filter(cluster__in=[file_server, hyperv]):
        entry = lab.entry(node.name)["bmc"]
        node.bmc_address, node.bmc_port, node.bmc_run_as = entry["address"], entry["port"], bmc_run_as
        node.save(update_fields=["bmc_address", "bmc_port", "bmc_run_as"])
    file_servers = PhysicalComputerProfile.objects.create(
        name="WS2022 file servers", image=profile.image, host_group=profile.host_group, domain=profile.domain,
        domain_join_run_as=RunAsAccount.objects.get(name="lab"))
    hyperv.refresh_from_db()
    file_server.refresh_from_db()
    return file_server, hyperv, profile, file_servers, bmc_run_as
