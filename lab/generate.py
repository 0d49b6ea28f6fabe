"""Topologies too big to write by hand: the remediation benchmark cluster and the scan farm.

    python -m lab topology --cluster-nodes 8 --vms-per-node 20 --out bench.toml
    python -m lab topology --hosts 1000 --out farm.toml
"""
from __future__ import annotations

import datetime as dt
import json

from lab.topology import loads_topology


def dumps(data: dict) -> str:
    """A small TOML writer for the shapes topologies use (tables, arrays of tables, scalars, lists)."""
    lines: list[str] = []

    def scalar(value) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        if isinstance(value, str):
            return json.dumps(value)
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(scalar(v) for v in value) + "]"
        raise TypeError(f"cannot write {value!r} to TOML")

    def is_table_array(value) -> bool:
        return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)

    def emit(prefix: str, table: dict) -> None:
        for key, value in table.items():
            if not isinstance(value, dict) and not is_table_array(value):
                lines.append(f"{key} = {scalar(value)}")
        for key, value in table.items():
            if isinstance(value, dict):
                lines.append("")
                lines.append(f"[{prefix}{key}]")
                emit(f"{prefix}{key}.", value)
        for key, value in table.items():
            if is_table_array(value):
                for item in value:
                    lines.append("")
                    lines.append(f"[[{prefix}{key}]]")
                    emit(f"{prefix}{key}.", item)

    emit("", data)
    return "\n".join(lines).lstrip("\n") + "\n"


def _updates(count: int, os_key: str) -> list[dict]:
    base = dt.date(2025, 1, 14)
    out = []
    for i in range(count):
        out.append({"kb": str(5050000 + i), "title": f"{dt.date(2025, 1 + i % 12, 1):%Y-%m} Security Update for "
                    f"Windows Server ({os_key}) (KB{5050000 + i})", "classification": "Security Updates",
                    "severity": "Important", "release_date": base + dt.timedelta(days=28 * i),
                    "reboot_required": True, "applies_to": [os_key]})
    return out


def remediation_topology(nodes: int = 8, vms_per_node: int = 20, node_memory_gb: float = 512.0,
                         vm_memory_gb: float = 16.0, bandwidth_gbps: float = 10.0, updates: int = 3,
                         speed: float = 1.0) -> dict:
    """One Hyper-V cluster where every node misses `updates` updates and runs `vms_per_node` VMs,
    sized so the cluster can evacuate any one node (N-1)."""
    if vms_per_node * vm_memory_gb * nodes > node_memory_gb * (nodes - 1):
        raise ValueError("the VMs would not fit on N-1 nodes; give more node memory or fewer VMs")
    cluster = {"name": "BENCH-CL", "kind": "hyperv", "nodes": [], "vms": []}
    for n in range(1, nodes + 1):
        cluster["nodes"].append({"name": f"BENCH-N{n}", "memory_gb": node_memory_gb,
                                 "migration_bandwidth_gbps": bandwidth_gbps})
        for v in range(1, vms_per_node + 1):
            memory = vm_memory_gb * (0.5 + (v % 4) * 0.25 + 0.125)
            cluster["vms"].append({"name": f"bench-n{n}-vm{v:02d}", "owner": f"BENCH-N{n}",
                                   "memory_gb": round(memory, 2)})
    return {"lab": {"name": f"bench-{nodes}x{vms_per_node}", "speed": speed},
            "defaults": {"os": "2022", "bmc": False, "https": False},
            "clusters": [cluster], "updates": _updates(updates, "2022"),
            "update_server": {"name": "BENCH-WSUS", "bmc": False}}


def scan_topology(hosts: int = 1000, updates: int = 5, speed: float = 1.0) -> dict:
    """`hosts` standalone servers without BMCs or HTTPS (fewer sockets), each missing some updates."""
    entries = []
    for i in range(1, hosts + 1):
        missing = [str(5050000 + j) for j in range(updates) if (i + j) % 3]
        entries.append({"name": f"SRV{i:05d}", "role": "server", "missing_updates": missing})
    return {"lab": {"name": f"farm-{hosts}", "speed": speed},
            "defaults": {"os": "2022", "bmc": False, "https": False, "memory_gb": 64.0},
            "hosts": entries, "updates": _updates(updates, "2022"),
            "update_server": {"name": "FARM-WSUS"}}


def render(data: dict) -> str:
    text = dumps(data)
    loads_topology(text, "generated.toml")    # prove it loads before anyone uses it
    return text
