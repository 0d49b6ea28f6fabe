"""Injected faults: from the topology file or POSTed to the control endpoint at run time."""
from __future__ import annotations

import itertools
import re

from lab.topology import FAULT_KINDS

# Which target each kind needs, and the optional keys it takes.
FAULT_FIELDS = {
    "migration_fails": ("vm", ("message",)),
    "host_stays_down": ("host", ()),
    "winrm_timeout": ("host", ()),
    "winrm_http500": ("host", ()),
    "bmc_unresponsive": ("host", ()),
    "update_install_fails": ("host", ("hresult", "update")),
    "garbage_output": ("host", ("cmdlet", "text")),
    "pxe_boot_ignored": ("host", ()),
    "cmdlet_fails": ("host", ("cmdlet", "message")),
    "csv_move_fails": ("csv", ("cluster", "message")),
}
DEFAULT_HRESULT = "0x80240022"   # WU_E_ALL_UPDATES_FAILED


class FaultError(ValueError):
    pass


def parse_hresult(value) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"0[xX][0-9a-fA-F]{1,8}|-?\d+", value.strip()):
        number = int(value.strip(), 0)
    else:
        raise FaultError(f"hresult must be a number like 0x80240022, got {value!r}")
    return number & 0xFFFFFFFF


class Faults:
    """The active faults. Callers hold the datacenter lock."""

    def __init__(self):
        self._items: list[dict] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict, resolve_host, resolve_vm, resolve_csv=None) -> dict:
        if not isinstance(spec, dict):
            raise FaultError("a fault is a JSON object with at least a 'kind'")
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise FaultError(f"kind must be one of {', '.join(FAULT_KINDS)}, got {kind!r}")
        target_key, optional = FAULT_FIELDS[kind]
        allowed = {"kind", "count", target_key, *optional}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise FaultError(f"{kind}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
        if not isinstance(spec.get(target_key), str):
            raise FaultError(f"{kind}: '{target_key}' (a name) is required")
        fault = {"id": next(self._ids), "kind": kind}
        if target_key == "host":
            fault["host"] = spec["host"]
            fault["host_key"] = resolve_host(spec["host"])
        elif target_key == "csv":
            fault["csv"] = spec["csv"]
            fault["csv_id"] = resolve_csv(spec["csv"], spec.get("cluster"))
        else:
            fault["vm"] = spec["vm"]
            fault["vm_id"] = resolve_vm(spec["vm"])
        for key in optional:
            if key in spec:
                fault[key] = spec[key]
        if kind == "update_install_fails":
            fault["hresult"] = f"0x{parse_hresult(spec.get('hresult', DEFAULT_HRESULT)):08X}"
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise FaultError(f"count must be a positive integer (how many times the fault fires), got {count!r}")
        fault["remaining"] = count
        self._items.append(fault)
        return fault

    def _match(self, kind: str, **match) -> dict | None:
        for fault in self._items:
            if fault["kind"] != kind:
                continue
            if all(fault.get(k) == v for k, v in match.items()):
                return fault
        return None

    def active(self, kind: str, **match) -> dict | None:
        return self._match(kind, **match)

    def take(self, kind: str, **match) -> dict | None:
        """The matching fault, counting one firing (a fault with a count disappears when used up)."""
        fault = self._match(kind, **match)
        if fault is not None and fault["remaining"] is not None:
            fault["remaining"] -= 1
            if fault["remaining"] <= 0:
                self._items.remove(fault)
        return fault

    def remove(self, fault_id: int | None = None) -> list[dict]:
        if fault_id is None:
            removed, self._items = self._items, []
            return removed
        removed = [f for f in self._items if f["id"] == fault_id]
        self._items = [f for f in self._items if f["id"] != fault_id]
        return removed

    def list(self) -> list[dict]:
        return [dict(f) for f in self._items]
