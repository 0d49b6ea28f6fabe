"""Topology files: what the simulated datacenter contains, read from TOML.

Every duration is in simulated seconds, every memory size in GB (1 GB = 2**30 bytes), every
bandwidth in Gbit/s. See lab/README.md for the keys.
"""
from lab.topology.loader import _stable_uuid, load_topology, loads_topology, normalize_mac
from lab.topology.specs import (
    FAULT_KINDS,
    GB,
    HOST_DEFAULTS,
    HOST_ROLES,
    OS_BY_BUILD,
    OS_RELEASES,
    TIMING_KEYS,
    ClusterSpec,
    CsvSpec,
    DiskSpec,
    HostSpec,
    ImageSpec,
    NicSpec,
    OsRelease,
    ShareSpec,
    Topology,
    TopologyError,
    UpdateSpec,
    VmSpec,
)

__all__ = ["FAULT_KINDS", "GB", "HOST_DEFAULTS", "HOST_ROLES", "OS_BY_BUILD", "OS_RELEASES", "TIMING_KEYS",
           "ClusterSpec", "CsvSpec", "DiskSpec", "HostSpec", "ImageSpec", "NicSpec", "OsRelease", "ShareSpec",
           "Topology", "TopologyError", "UpdateSpec", "VmSpec", "load_topology", "loads_topology", "normalize_mac",
           "_stable_uuid"]
