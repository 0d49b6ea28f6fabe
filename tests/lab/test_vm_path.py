"""A VM's folder in a topology (Get-VM Path): a local path or a share; anything else is refused."""
import pytest

from lab.topology.loader import TopologyError, loads_topology

TOPOLOGY = """
[lab]
name = "vm-path"

[[clusters]]
name = "HVP"
vms = [{{ name = "p-app1", owner = "P-N1", memory_gb = 4.0, path = {path} }}]

[[clusters.nodes]]
name = "P-N1"
os = "2019"

[[clusters.nodes]]
name = "P-N2"
os = "2019"
"""


@pytest.mark.parametrize("path", ['"\\\\\\\\SOFS01\\\\VMStore\\\\p-app1"', '"C:\\\\ClusterStorage\\\\Volume1\\\\p-app1"'])
def test_a_vm_lives_in_a_local_folder_or_on_a_share(path):
    topology = loads_topology(TOPOLOGY.format(path=path), "t.toml")
    vm = next(v for h in topology.hosts for v in h.vms)
    assert vm.path.endswith("p-app1")


def test_a_path_that_is_neither_is_refused():
    with pytest.raises(TopologyError, match="neither a local path"):
        loads_topology(TOPOLOGY.format(path='"VMStore/p-app1"'), "t.toml")
