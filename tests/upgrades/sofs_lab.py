"""A 2019 Scale-Out File Server on Storage Spaces Direct with continuously available shares, BMCs and
a WDS holding a 2022 VHDX: the file server the upgrade tests re-image node by node. The returning
node resyncs for twice as long as it was away, so the wait before the next node leaves is seen."""
from __future__ import annotations

TOPOLOGY = """
[lab]
name = "sofs-upgrade"
domain = "contoso.com"
speed = 100.0

[defaults]
memory_gb = 64.0
reboot_seconds = 20.0
boot_seconds = 20.0
deploy_seconds = 60.0
shutdown_seconds = 2.0
credssp = true

[[clusters]]
name = "FSU19"
kind = "sofs"
s2d = true
resync_ratio = 2.0
sofs_roles = ["FSUSOFS"]
shares = [
  { name = "Store1", path = "C:\\\\ClusterStorage\\\\Volume1\\\\Shares\\\\Store1" },
  { name = "Store2", path = "C:\\\\ClusterStorage\\\\Volume2\\\\Shares\\\\Store2" },
]
csvs = [{ name = "Cluster Disk 1" }, { name = "Cluster Disk 2" }]

[[clusters.nodes]]
name = "FSU-N1"
os = "2019"

[[clusters.nodes]]
name = "FSU-N2"
os = "2019"

[[clusters.nodes]]
name = "FSU-N3"
os = "2019"

[deployment_server]
name = "FSUWDS"
os = "2022"
bmc = false
images = [{ name = "Windows Server 2022 SERVERDATACENTER", os = "2022", group = "WS2022", file = "WS2022.vhdx" }]
"""

CLUSTER = "FSU19"


def bring_in_file_server(lab):
    """The file server added as an operator would (rolling_lab.bring_in), and each node's BMC known,
    as after an earlier provisioning: (cluster, profile, bmc_run_as, subnet)."""
    from tests.upgrades.rolling_lab import bring_in

    cluster, profile, bmc_run_as, subnet = bring_in(lab, CLUSTER)
    for node in cluster.nodes.all():
        entry = lab.entry(node.name)["bmc"]
        node.bmc_address, node.bmc_port, node.bmc_run_as = entry["address"], entry["port"], bmc_run_as
        node.save(update_fields=["bmc_address", "bmc_port", "bmc_run_as"])
    return cluster, profile, bmc_run_as, subnet


def storage_events(lab) -> tuple[list[dict], list[dict]]:
    """(resyncs started, nodes evicted) in the lab's event log, in order."""
    events = lab.events()
    return ([e for e in events if e["event"] == "storage-resync-started"],
            [e for e in events if e["event"] == "node-evicted"])
