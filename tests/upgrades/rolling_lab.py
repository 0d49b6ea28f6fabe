"""A 2019 Hyper-V cluster with BMCs, VMs on every node and a WDS holding a 2022 VHDX, brought into
Ferry the way an operator would (discovery, deployment server, profile), and the upgrade request."""
from __future__ import annotations

from urllib.parse import urlparse

TOPOLOGY = """
[lab]
name = "rolling"
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
name = "RU19"
kind = "hyperv"
witness = true
vms = [{ name = "ru-vm1", owner = "RU-N1", memory_gb = 8.0 },
       { name = "ru-vm2", owner = "RU-N1", memory_gb = 4.0 },
       { name = "ru-vm3", owner = "RU-N2", memory_gb = 8.0 },
       { name = "ru-vm4", owner = "RU-N3", memory_gb = 6.0 },
       { name = "ru-vm5", owner = "RU-N4", memory_gb = 4.0 }]

[[clusters.nodes]]
name = "RU-N1"
os = "2019"

[[clusters.nodes]]
name = "RU-N2"
os = "2019"

[[clusters.nodes]]
name = "RU-N3"
os = "2019"

[[clusters.nodes]]
name = "RU-N4"
os = "2019"

[deployment_server]
name = "RUWDS"
os = "2022"
bmc = false
images = [
  { name = "Windows Server 2022 SERVERDATACENTER", os = "2022", group = "WS2022", file = "WS2022.vhdx" },
  { name = "Windows Server 2025 SERVERDATACENTER", os = "2025", group = "WS2025", file = "WS2025.vhdx" },
]
"""


def _port(entry: dict) -> int:
    return urlparse(entry["winrm"]["https_url"]).port


def bring_in(lab, cluster_name: str = "RU19"):
    """Discover the cluster (second hop over CredSSP), add the WDS, a subnet and a profile; returns
    (cluster, profile, bmc_run_as, subnet)."""
    from fabric.inventory import add_deployment_server, discover_cluster
    from fabric.models import (
        DeploymentServer,
        Host,
        HostGroup,
        LibraryImage,
        LogicalNetwork,
        PhysicalComputerProfile,
        RunAsAccount,
        Subnet,
    )

    node = next(h for h in lab.endpoints["hosts"] if h["cluster"] == cluster_name)
    run_as = RunAsAccount.objects.create(name="lab", username=node["winrm"]["username"],
                                         password=node["winrm"]["password"])
    common = dict(https=True, transport="ntlm", ca_path=lab.endpoints["ca_path"])
    cluster = discover_cluster(lab.entry(cluster_name)["address"], run_as, port=_port(lab.entry(cluster_name)),
                               **common)
    # Remove-ClusterNode, Add-ClusterNode and New-WdsClient -JoinDomain reach a third machine
    type(cluster).objects.filter(pk=cluster.pk).update(credssp_second_hop=True)
    Host.objects.filter(cluster=cluster).update(credssp_second_hop=True)
    wds = lab.endpoints["deployment_server"]
    server = add_deployment_server(wds["address"], run_as, port=_port(wds), **common)
    DeploymentServer.objects.filter(pk=server.pk).update(winrm_transport="credssp")
    bmc = node["bmc"]
    bmc_run_as = RunAsAccount.objects.create(name="lab BMC", username=bmc["username"], password=bmc["password"])
    network = LogicalNetwork.objects.create(name="Management")
    subnet = Subnet.objects.create(logical_network=network, name="Management lab", cidr="127.0.10.0/24",
                                   gateway="127.0.10.254", dns_servers="127.0.10.253")
    profile = PhysicalComputerProfile.objects.create(
        name="WS2022 hosts", image=LibraryImage.objects.get(os_build=20348), host_group=HostGroup.root(),
        domain="contoso.com", domain_join_run_as=run_as)
    cluster.refresh_from_db()
    return cluster, profile, bmc_run_as, subnet


def request_for(lab, cluster, profile, bmc_run_as, subnet, names=None, **overrides):
    from upgrades.request import NodeSettings, UpgradeRequest

    nodes = []
    for host in cluster.nodes.order_by("name"):
        if names is not None and host.name not in names:
            continue
        entry = lab.entry(host.name)
        nodes.append(NodeSettings(host_id=host.pk, bmc_address=entry["bmc"]["address"], bmc_port=entry["bmc"]["port"],
                                  management_mac=entry["mac"], logical_network_id=subnet.logical_network_id,
                                  subnet_id=subnet.pk, ip=host.address))
    values = dict(cluster_id=cluster.pk, profile_id=profile.pk, bmc_run_as_id=bmc_run_as.pk, image_id=None,
                  nodes=nodes)
    values.update(overrides)
    return UpgradeRequest(**values)
