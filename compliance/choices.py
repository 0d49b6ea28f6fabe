"""The compliance vocabulary: host states, per-update states, WSUS classifications and severities."""
from django.db import models


class ComplianceState(models.TextChoices):
    """A host's (or a cluster's) state against its baselines, as VMM's Compliance view shows it."""

    COMPLIANT = "compliant", "Compliant"  # every applicable baseline update installed or exempt
    NON_COMPLIANT = "non_compliant", "Non Compliant"  # at least one applicable update missing
    PENDING_REBOOT = "pending_reboot", "Pending Reboot"  # installed, waiting for a restart
    ERROR = "error", "Error"  # the scan failed, or an install failed
    UNKNOWN = "unknown", "Unknown"  # never scanned since the baselines or the host changed


# Worst first: a cluster (or a host with several baselines) shows its worst member.
STATE_SEVERITY = (
    ComplianceState.ERROR,
    ComplianceState.NON_COMPLIANT,
    ComplianceState.PENDING_REBOOT,
    ComplianceState.UNKNOWN,
    ComplianceState.COMPLIANT,
)
NEEDS_REMEDIATION = frozenset(
    {ComplianceState.NON_COMPLIANT, ComplianceState.PENDING_REBOOT, ComplianceState.ERROR, ComplianceState.UNKNOWN}
)


def worst_state(states) -> str:
    """The worst of some states; Unknown when there are none."""
    present = set(states)
    for state in STATE_SEVERITY:
        if state in present:
            return state
    return ComplianceState.UNKNOWN


class UpdateState(models.TextChoices):
    """One update on one host, for one baseline."""

    INSTALLED = "installed", "Installed"
    MISSING = "missing", "Missing"
    PENDING_REBOOT = "pending_reboot", "Pending reboot"  # installed, the host must restart to finish
    FAILED = "failed", "Failed"  # the last install attempt failed
    EXEMPT = "exempt", "Exempt"
    NOT_APPLICABLE = "not_applicable", "Not applicable"  # not for this host's OS or role


# Update states that keep a host from being compliant.
BLOCKING_UPDATE_STATES = frozenset({UpdateState.MISSING, UpdateState.FAILED})


class UpdateClassification(models.TextChoices):
    """WSUS UpdateClassificationTitle values."""

    CRITICAL = "Critical Updates", "Critical Updates"
    SECURITY = "Security Updates", "Security Updates"
    UPDATE_ROLLUPS = "Update Rollups", "Update Rollups"
    UPDATES = "Updates", "Updates"
    SERVICE_PACKS = "Service Packs", "Service Packs"
    FEATURE_PACKS = "Feature Packs", "Feature Packs"
    DEFINITION_UPDATES = "Definition Updates", "Definition Updates"
    DRIVERS = "Drivers", "Drivers"
    TOOLS = "Tools", "Tools"
    UPGRADES = "Upgrades", "Upgrades"


class UpdateSeverity(models.TextChoices):
    """MSRC severity rating; empty for updates that are not security updates."""

    CRITICAL = "Critical", "Critical"
    IMPORTANT = "Important", "Important"
    MODERATE = "Moderate", "Moderate"
    LOW = "Low", "Low"
    UNSPECIFIED = "", "Unspecified"


class BaselineUpdateSource(models.TextChoices):
    PICKED = "picked", "Picked"  # chosen by a user; stays until removed
    RULE = "rule", "Rule"  # matched by the baseline's rule; recomputed at every sync


class NodeOrder(models.TextChoices):
    FEWEST_VMS = "fewest_vms", "Fewest VMs first"
    EXPLICIT = "explicit", "Explicit order"


class EvacuationMode(models.TextChoices):
    LIVE_MIGRATION = "live", "Live migration"
    SAVE_STATE = "save", "Save state"
