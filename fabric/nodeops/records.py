"""What one step of a node hands to a later one, as typed records stored in the job step's data.

The JSON shape is the one the steps always stored, so a job queued before an upgrade of Ferry
resumes with the same data.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MovedVM:
    vm_id: str
    name: str
    target: str          # the node it was live-migrated to
    memory_bytes: int


@dataclass
class Evacuated:
    """What the evacuation did: VMs live-migrated away, VMs saved on the node, and of those the
    ones that were paused before (paused again once started)."""

    moved: dict[str, MovedVM] = field(default_factory=dict)   # by VM id
    saved: dict[str, str] = field(default_factory=dict)       # VM id → name
    paused: list[str] = field(default_factory=list)           # VM ids

    @property
    def empty(self) -> bool:
        return not self.moved and not self.saved

    def record_move(self, vm_id: str, name: str, target: str, memory_bytes: int) -> None:
        self.moved[vm_id] = MovedVM(vm_id, name, target, memory_bytes)

    def to_data(self) -> dict:
        return {"moved": {i: [m.target, m.memory_bytes, m.name] for i, m in self.moved.items()},
                "saved": dict(self.saved), "paused": sorted(self.paused)}

    @classmethod
    def from_data(cls, data: dict | None) -> "Evacuated":
        data = data or {}
        moved = {vm_id: MovedVM(vm_id, name, target, memory)
                 for vm_id, (target, memory, name) in (data.get("moved") or {}).items()}
        return cls(moved, dict(data.get("saved") or {}), list(data.get("paused") or []))
