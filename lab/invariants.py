"""Safety rules the datacenter must never break, checked after every state change.

A violation is recorded once, when it appears (with the simulated and elapsed time and what was
wrong); if the condition later clears, the record gets a `cleared` time. Tests read them at
GET /invariants and fail on any.
"""
from __future__ import annotations

import time

from lab.datacenter.model import NODE_PAUSED

RULES = {
    "vm-lost": "no VM lost",
    "vm-duplicated": "no VM duplicated",
    "vm-running-on-down-host": "no running VM on a down or powered-off host",
    "vm-crashed": "no running VM crashed by a cluster operation (e.g. its node evicted while it ran)",
    "vm-running-on-paused-node": "no running VM left on a paused node (except while it is being evacuated)",
    "quorum-lost": "cluster quorum held (node majority of Up and Paused members)",
    "memory-overcommitted": "no host over-committed on memory",
    "host-reimaged-with-vms": "no host re-imaged while it holds VMs",
    "node-below-functional-level": "no cluster node on an older release than the cluster's functional level",
    "share-unavailable": "every share of a Scale-Out File Server has a running owner for its role and volume "
                         "(a node going down while it owns them makes the cluster fail them over: an outage)",
}
PAUSED_GRACE_FLOOR_WALL_SECONDS = 2.0


class InvariantChecker:
    def __init__(self, dc):
        self.dc = dc
        self.violations: list[dict] = []
        self._active: dict[tuple, dict] = {}
        self.checks = 0

    def grace_wall_seconds(self) -> float:
        """How long a paused node may keep running VMs with no migration touching it.

        The topology gives it in simulated seconds; a floor in wall seconds keeps the orchestrator's
        own WinRM round trips from counting as idleness when the lab runs very fast."""
        return max(self.dc.clock.wall(self.dc.topology.paused_vm_grace_seconds), PAUSED_GRACE_FLOOR_WALL_SECONDS)

    def check(self) -> None:
        """Evaluate every rule. The caller holds the datacenter lock."""
        self.checks += 1
        dc = self.dc
        found: dict[tuple, tuple[str, str]] = {}
        seen: dict[str, list[str]] = {}
        now = time.monotonic()
        grace = self.grace_wall_seconds()
        for host in dc.hosts.values():
            cluster = dc.cluster_of(host)
            record = cluster.record(host.key) if cluster else None
            paused = record is not None and dc.node_state(cluster, record) == NODE_PAUSED
            running_memory = 0
            for vm in host.vms.values():
                seen.setdefault(vm.id, []).append(host.name)
                if not vm.in_memory:
                    continue
                running_memory += vm.memory
                if not host.online:
                    found[("vm-running-on-down-host", vm.id)] = (
                        vm.name, f"VM {vm.name} was {vm.state} on {host.name} when the host went down "
                                 f"({'powered off' if not host.power_on else host.os_state}); it crashed")
                elif paused and vm.migration is None and now - host.activity > grace:
                    found[("vm-running-on-paused-node", vm.id)] = (
                        vm.name, f"VM {vm.name} is {vm.state} on paused node {host.name} and nothing has "
                                 f"moved it for {now - host.activity:.1f} s")
            if running_memory > host.memory:
                found[("memory-overcommitted", host.key)] = (
                    host.name, f"{host.name} runs VMs needing {running_memory / 2**30:.1f} GB "
                               f"but has {host.memory / 2**30:.1f} GB")
        for vm_id, name in dc.expected_vms.items():
            places = seen.get(vm_id, [])
            if not places:
                found[("vm-lost", vm_id)] = (name, f"VM {name} ({vm_id}) no longer exists on any host")
            elif len(places) > 1:
                found[("vm-duplicated", vm_id)] = (name, f"VM {name} exists on {', '.join(places)}")
        for cluster in dc.clusters.values():
            if not dc.has_quorum(cluster):
                states = {r.name: ("Up", "Down", "Paused")[dc.node_state(cluster, r)] for r in cluster.nodes}
                found[("quorum-lost", cluster.key)] = (
                    cluster.name, f"cluster {cluster.name} lost quorum: "
                                  + ", ".join(f"{n} {s}" for n, s in states.items()))
        for cluster in dc.clusters.values():
            for record in cluster.nodes:
                host = dc.hosts.get(record.host_key)
                if host is not None and host.os.functional_level < cluster.functional_level:
                    found[("node-below-functional-level", host.key)] = (
                        record.name, f"node {record.name} runs {host.os.caption} (level {host.os.functional_level}) "
                                     f"in cluster {cluster.name} at functional level {cluster.functional_level}")
        for cluster in dc.clusters.values():
            for share in cluster.shares:
                why = dc.share_outage(cluster, share)
                if why is not None:
                    found[("share-unavailable", cluster.key, share.name)] = (
                        share.name, f"share \\\\{share.scope}\\{share.name} of {cluster.name} is unavailable: {why}")
        for key, (subject, detail) in found.items():
            if key not in self._active:
                record = {"rule": key[0], "description": RULES[key[0]], "subject": subject, "detail": detail,
                          "time": dc.clock.now().isoformat(), "elapsed": round(dc.clock.elapsed(), 3),
                          "cleared": None}
                self._active[key] = record
                self.violations.append(record)
                dc.event("invariant-violated", rule=key[0], detail=detail)
        for key in list(self._active):
            if key not in found:
                self._active.pop(key)["cleared"] = dc.clock.now().isoformat()

    def record(self, rule: str, subject: str, detail: str) -> None:
        """A one-off violation seen by an operation rather than by looking at the state."""
        record = {"rule": rule, "description": RULES[rule], "subject": subject, "detail": detail,
                  "time": self.dc.clock.now().isoformat(), "elapsed": round(self.dc.clock.elapsed(), 3),
                  "cleared": self.dc.clock.now().isoformat()}
        self.violations.append(record)
        self.dc.event("invariant-violated", rule=rule, detail=detail)

    def report(self) -> dict:
        with self.dc.lock:
            return {"ok": not self.violations, "checks": self.checks, "rules": RULES,
                    "violations": [dict(v) for v in self.violations],
                    "active": [dict(v) for v in self._active.values()]}
