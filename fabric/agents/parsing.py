"""Reading what the scripts print: shapes checked, enums named, dates made aware.

Windows PowerShell 5.1 writes enums as integers unless a script casts them with [string], dates
as "\\/Date(ms)\\/" unless formatted; these readers accept both so a script can change without
breaking the parser (docs/powershell.md).
"""
import re
from datetime import datetime, timezone

from fabric.agents.errors import BadOutput

CLUSTER_NODE_STATE = {0: "Up", 1: "Down", 2: "Paused", 3: "Joining", -1: "Unknown"}
DRAIN_STATUS = {0: "NotInitiated", 1: "InProgress", 2: "Completed", 3: "Failed"}
CLUSTER_GROUP_STATE = {0: "Online", 1: "Offline", 2: "Failed", 3: "PartialOnline", 4: "Pending", -1: "Unknown"}
GROUP_TYPE = {
    1: "Cluster", 2: "AvailableStorage", 4: "ClusterSharedVolume", 5: "ClusterStoragePool", 100: "FileServer",
    107: "GenericApplication", 111: "VirtualMachine", 114: "ScaleoutFileServer", 117: "ClusterAwareUpdating",
    9999: "Unknown",
}
CLUSTER_QUORUM_TYPE = {0: "Unknown", 1: "Majority", 2: "DiskOnly"}
# ClusterResourceState: cluster shared volumes and resources such as the witness
CSV_STATE = {0: "Inherited", 1: "Initializing", 2: "Online", 3: "Offline", 4: "Failed", 128: "Pending",
             129: "OnlinePending", 130: "OfflinePending"}
NETWORK_INTERFACE_STATE = {0: "Unavailable", 1: "Failed", 2: "Unreachable", 3: "Up"}
VM_STATE = {1: "Other", 2: "Running", 3: "Off", 4: "Stopping", 6: "Saved", 9: "Paused", 10: "Starting",
            11: "Reset", 32773: "Saving", 32776: "Pausing", 32777: "Resuming", 32779: "FastSaved"}
SHARE_STATE = {0: "Pending", 1: "Online", 2: "Offline"}
AVAILABILITY_TYPE = {0: "NonClustered", 1: "Clustered", 2: "ScaleOut", 3: "CSV", 4: "DFS"}
ADDRESS_FAMILY = {2: "IPv4", 23: "IPv6"}
MIGRATION_AUTH = {0: "CredSSP", 1: "Kerberos"}
# Storage (MSFT_StorageJob, MSFT_VirtualDisk): the module's type data names some of them, not all.
STORAGE_JOB_STATE = {2: "New", 3: "Starting", 4: "Running", 5: "Suspended", 6: "ShuttingDown", 7: "Completed",
                     8: "Terminated", 9: "Killed", 10: "Exception", 11: "Service", 12: "QueryPending"}
HEALTH_STATUS = {0: "Healthy", 1: "Warning", 2: "Unhealthy", 5: "Unknown"}
OPERATIONAL_STATUS = {0: "Unknown", 1: "Other", 2: "OK", 3: "Degraded", 4: "Stressed", 5: "PredictiveFailure",
                      6: "Error", 7: "NonRecoverableError", 8: "Starting", 9: "Stopping", 10: "Stopped",
                      11: "InService", 12: "NoContact", 13: "LostCommunication", 14: "Aborted", 15: "Dormant",
                      16: "SupportingEntityInError", 17: "Completed", 0xD00D: "PowerMode", 0xD00E: "Detached",
                      0xD00F: "Incomplete"}


class Reader:
    """Checks one operation's output; every complaint names the operation and the machine."""

    def __init__(self, operation: str, target: str = ""):
        self.operation = operation
        self.target = target

    def fail(self, detail: str) -> BadOutput:
        return BadOutput(
            f"{self.target or 'The machine'} answered {self.operation} with data Ferry cannot use: {detail}.",
            target=self.target, operation=self.operation,
        )

    def records(self, value) -> list[dict]:
        """A list of objects; one object alone (PowerShell unrolled a single result) counts as a list."""
        if value is None:
            return []
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.fail(f"expected a list of objects, got {type(value).__name__}")
        return value

    def record(self, value) -> dict:
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, dict):
            raise self.fail(f"expected an object, got {type(value).__name__}")
        return value

    def get(self, rec: dict, key: str, kind=str, *, required: bool = True, default=None):
        if key not in rec or rec[key] is None:
            if required:
                raise self.fail(f"the property {key} is missing")
            return default
        value = rec[key]
        try:
            if kind is bool:
                if isinstance(value, str):
                    if value.lower() not in ("true", "false", "1", "0"):
                        raise ValueError(value)
                    return value.lower() in ("true", "1")
                return bool(value)
            if kind is int:
                if isinstance(value, bool):
                    raise ValueError(value)
                return int(value)
            if kind is str:
                if isinstance(value, (dict, list)):
                    raise ValueError(value)
                return str(value)
            return kind(value)
        except (TypeError, ValueError):
            raise self.fail(
                f"the property {key} is not a {getattr(kind, '__name__', kind)} ({str(value)[:40]!r})"
            ) from None

    def enum(self, rec: dict, key: str, table: dict[int, str], *, required: bool = True, default: str = "Unknown"):
        """An enum written either as its name ([string] cast) or as its number."""
        if key not in rec or rec[key] is None:
            if required:
                raise self.fail(f"the property {key} is missing")
            return default
        value = rec[key]
        if isinstance(value, bool):
            raise self.fail(f"the property {key} is not an enum value")
        if isinstance(value, int):
            return table.get(value, str(value))
        text = str(value).strip()
        if re.fullmatch(r"-?\d+", text):
            return table.get(int(text), text)
        by_lower = {name.lower(): name for name in table.values()}
        return by_lower.get(text.lower(), text)

    def date(self, rec: dict, key: str, *, required: bool = False):
        if key not in rec or rec[key] in (None, ""):
            if required:
                raise self.fail(f"the property {key} is missing")
            return None
        try:
            return parse_date(rec[key])
        except ValueError:
            raise self.fail(f"the property {key} is not a date ({str(rec[key])[:40]!r})") from None

    def strings(self, rec: dict, key: str) -> list[str]:
        value = rec.get(key)
        if value in (None, ""):
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [str(v) for v in value if v is not None]
        raise self.fail(f"the property {key} is not a list of strings")


_MS_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


def parse_date(value) -> datetime:
    """`/Date(1326441600000)/` (Windows PowerShell) or ISO 8601 → an aware UTC datetime."""
    text = str(value).strip()
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=timezone.utc)
    # .NET's round-trip format carries 7 fractional digits; Python takes at most 6.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
