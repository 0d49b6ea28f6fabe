from django.db import models


class ClusterKind(models.TextChoices):
    HYPERV = "hyperv", "Hyper-V"
    SOFS = "sofs", "Scale-Out File Server"


class WinRMTransport(models.TextChoices):
    NTLM = "ntlm", "NTLM"
    KERBEROS = "kerberos", "Kerberos"
    CREDSSP = "credssp", "CredSSP"
    BASIC = "basic", "Basic"


class HostStatus(models.TextChoices):
    RESPONDING = "responding", "Responding"
    NOT_RESPONDING = "not_responding", "Not Responding"
    IN_MAINTENANCE = "in_maintenance", "In Maintenance"
    PENDING_REBOOT = "pending_reboot", "Pending Reboot"
    UNKNOWN = "unknown", "Unknown"


class NodeState(models.TextChoices):
    """Get-ClusterNode State (ClusterNodeState enum: Up=0, Down=1, Paused=2, Joining=3, Unknown=-1)."""

    UP = "Up", "Up"
    DOWN = "Down", "Down"
    PAUSED = "Paused", "Paused"
    JOINING = "Joining", "Joining"
    UNKNOWN = "Unknown", "Unknown"


class WitnessKind(models.TextChoices):
    """The cluster's witness, from Get-ClusterQuorum (QuorumResource and its resource type); blank:
    not read yet, which counts as no witness."""

    NONE = "none", "none (the nodes' votes only)"
    DISK = "disk", "disk witness"
    FILE_SHARE = "file_share", "file share witness"
    CLOUD = "cloud", "cloud witness"
    OTHER = "other", "witness"
    DISK_ONLY = "disk_only", "disk only (legacy quorum: the nodes do not vote)"


WITNESS_KINDS_VOTING = (WitnessKind.DISK, WitnessKind.FILE_SHARE, WitnessKind.CLOUD, WitnessKind.OTHER)


class VMState(models.TextChoices):
    """Get-VM State names (Hyper-V VMState)."""

    RUNNING = "Running", "Running"
    OFF = "Off", "Off"
    SAVED = "Saved", "Saved"
    PAUSED = "Paused", "Paused"
    STARTING = "Starting", "Starting"
    STOPPING = "Stopping", "Stopping"
    SAVING = "Saving", "Saving"
    OTHER = "Other", "Other"


# A VM in these states holds its host's memory: it must be moved or saved before the host restarts.
VM_IN_MEMORY = (VMState.RUNNING, VMState.PAUSED)


class BMCProtocol(models.TextChoices):
    IPMI = "ipmi", "IPMI 2.0"
