from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from core.indexes import CaseInsensitivePrefixIndex
from fabric.choices import (
    WITNESS_KINDS_VOTING,
    BMCProtocol,
    ClusterKind,
    HostStatus,
    NodeState,
    VMState,
    WinRMTransport,
    WitnessKind,
)
from fabric.models.validators import normalize_mac, validate_host_address, validate_mac_address

ROOT_GROUP_NAME = "All Hosts"


class HostGroup(models.Model):
    """A folder in the tree under "All Hosts". Baselines assigned here are inherited below."""

    name = models.CharField(max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="hostgroup_unique_name_in_parent"),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(parent__isnull=True), name="hostgroup_single_root"
            ),
        ]

    def __str__(self):
        return self.name

    @classmethod
    def root(cls) -> "HostGroup":
        return cls.objects.get_or_create(parent=None, name=ROOT_GROUP_NAME)[0]

    def ancestors(self) -> list["HostGroup"]:
        """From the root down to this group's parent."""
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))

    def path(self) -> str:
        return " › ".join([g.name for g in self.ancestors()] + [self.name])

    def descendant_ids(self) -> list[int]:
        """This group and every group below it (one query per level)."""
        ids, frontier = [self.pk], [self.pk]
        while frontier:
            frontier = list(HostGroup.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            ids.extend(frontier)
        return ids

    def get_absolute_url(self):
        return reverse("fabric:server_list") + f"?group={self.pk}"

    @property
    def is_root(self) -> bool:
        return self.pk is not None and self.parent_id is None

    def clean(self):
        if self.pk:
            stored = HostGroup.objects.filter(pk=self.pk).values("parent_id", "name").first()
            if stored and stored["parent_id"] is None:
                errors = {}
                if self.parent_id is not None:
                    errors["parent"] = f"{stored['name']} is the root of the tree; it cannot move."
                if self.name != stored["name"]:
                    errors["name"] = "The root group cannot be renamed."
                if errors:
                    raise ValidationError(errors)
                return
        if self.parent_id is None:
            raise ValidationError({"parent": "Choose the group this one goes under."})
        if self.pk and self.parent_id in self.descendant_ids():
            raise ValidationError({"parent": "A group cannot go under itself or one of its own subgroups."})
        siblings = HostGroup.objects.filter(parent_id=self.parent_id, name__iexact=self.name).exclude(pk=self.pk)
        if self.name and siblings.exists():
            raise ValidationError({"name": f"{self.parent} already has a group named {self.name}."})


class ManagedEndpoint(models.Model):
    """How Ferry reaches a machine over WinRM. Production default: HTTPS, validated, NTLM/Kerberos."""

    address = models.CharField(
        max_length=255, help_text="Management IP address or DNS name", validators=[validate_host_address]
    )
    winrm_port = models.PositiveIntegerField(default=5986, validators=[MinValueValidator(1), MaxValueValidator(65535)])
    winrm_https = models.BooleanField("HTTPS", default=True)
    winrm_transport = models.CharField(max_length=10, choices=WinRMTransport.choices, default=WinRMTransport.NTLM)
    ca_path = models.CharField("CA bundle path", max_length=500, blank=True)
    allow_insecure = models.BooleanField(
        default=False, help_text="Allow Basic authentication or plain HTTP to this machine (not for production)"
    )
    run_as = models.ForeignKey("fabric.RunAsAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True

    @property
    def is_insecure(self) -> bool:
        return (not self.winrm_https) or self.winrm_transport == WinRMTransport.BASIC

    @property
    def insecure_reasons(self) -> list[str]:
        reasons = []
        if not self.winrm_https:
            reasons.append("WinRM over plain HTTP")
        if self.winrm_transport == WinRMTransport.BASIC:
            reasons.append("Basic authentication")
        if self.allow_insecure and not reasons:
            reasons.append("insecure connections are allowed")
        return reasons

    def clean(self):
        super().clean()
        # CredSSP hands the Run As password to the machine: never without TLS (Ferry always
        # validates the certificate), whatever "allow insecure" says.
        if self.winrm_transport == WinRMTransport.CREDSSP and not self.winrm_https:
            raise ValidationError({
                "winrm_transport": "CredSSP hands the Run As account's password to the machine: use it only "
                "over HTTPS (a WinRM listener with a certificate Ferry validates)."
            })
        if getattr(self, "credssp_second_hop", False) and not self.winrm_https:
            raise ValidationError({
                "credssp_second_hop": "CredSSP hands the Run As account's password to the machine: it needs "
                "WinRM over HTTPS (a listener with a certificate Ferry validates)."
            })
        if self.is_insecure and not self.allow_insecure:
            raise ValidationError({
                "allow_insecure": "Plain HTTP or Basic authentication exposes credentials on the network: "
                "tick this box to accept that for this machine, or use HTTPS with NTLM, Kerberos or CredSSP."
            })


def credssp_second_hop_field():
    return models.BooleanField(
        "CredSSP for operations that reach other machines", default=False,
        help_text="Adding or evicting a cluster node acts on other machines with the Run As account's "
        "identity, which NTLM cannot pass on: use CredSSP (it hands the password to this machine, over "
        "HTTPS only) for those operations. Not needed with Kerberos and a computer account trusted for "
        "delegation.",
    )


class Cluster(ManagedEndpoint):
    name = models.CharField(max_length=100, unique=True)
    fqdn = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=10, choices=ClusterKind.choices, default=ClusterKind.HYPERV)
    host_group = models.ForeignKey(HostGroup, on_delete=models.PROTECT, related_name="clusters")
    credssp_second_hop = credssp_second_hop_field()
    functional_level = models.PositiveIntegerField(null=True, blank=True)
    upgrade_version = models.PositiveIntegerField(null=True, blank=True)
    mixed_mode_since = models.DateTimeField(
        null=True, blank=True, help_text="When the nodes started running different OS versions"
    )
    last_refreshed = models.DateTimeField(null=True, blank=True)
    witness_kind = models.CharField(
        "witness", max_length=12, choices=WitnessKind.choices, blank=True,
        help_text="Get-ClusterQuorum at the last refresh; blank: not read yet (no witness vote is counted)",
    )
    witness_name = models.CharField("witness resource", max_length=200, blank=True)
    witness_state = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            CaseInsensitivePrefixIndex(field="name", name="cluster_name_prefix"),
            CaseInsensitivePrefixIndex(field="fqdn", name="cluster_fqdn_prefix"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        if self.kind == ClusterKind.SOFS:
            return reverse("fabric:fileserver_detail", args=[self.pk])
        return reverse("fabric:cluster_detail", args=[self.pk])

    @property
    def is_mixed_mode(self) -> bool:
        return self.mixed_mode_since is not None

    @property
    def witness_votes(self) -> bool:
        """Whether the planner counts a witness vote: one Ferry has read, online at the last refresh."""
        return self.witness_kind in WITNESS_KINDS_VOTING and self.witness_state == "Online"


class Host(ManagedEndpoint):
    name = models.CharField(max_length=100, unique=True)
    fqdn = models.CharField(max_length=255, blank=True)
    host_group = models.ForeignKey(HostGroup, on_delete=models.PROTECT, related_name="hosts")
    credssp_second_hop = credssp_second_hop_field()
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="nodes")
    os_name = models.CharField("OS", max_length=100, blank=True, db_index=True)
    os_version = models.CharField(max_length=30, blank=True)
    os_build = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=HostStatus.choices, default=HostStatus.UNKNOWN)
    status_reason = models.CharField(max_length=500, blank=True)
    node_state = models.CharField(max_length=10, choices=NodeState.choices, blank=True)
    memory_bytes = models.BigIntegerField(null=True, blank=True)
    cpu_count = models.PositiveIntegerField(null=True, blank=True)
    live_migration_limit = models.PositiveIntegerField(
        "simultaneous live migrations", default=2, validators=[MinValueValidator(1)]
    )
    management_mac = models.CharField(
        "management NIC MAC", max_length=17, blank=True, validators=[validate_mac_address]
    )
    bmc_address = models.GenericIPAddressField("BMC address", null=True, blank=True)
    bmc_port = models.PositiveIntegerField(
        "BMC port", default=623, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    bmc_protocol = models.CharField(max_length=10, choices=BMCProtocol.choices, default=BMCProtocol.IPMI)
    bmc_run_as = models.ForeignKey(
        "fabric.RunAsAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="BMC Run As account",
    )
    last_refreshed = models.DateTimeField(null=True, blank=True)
    failure_state = models.CharField(
        "left by a failed job", max_length=500, blank=True,
        help_text="What a failed job left this node in, until it is back in service",
    )
    failure_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["name"]
        indexes = [
            CaseInsensitivePrefixIndex(field="name", name="host_name_prefix"),
            CaseInsensitivePrefixIndex(field="fqdn", name="host_fqdn_prefix"),
            CaseInsensitivePrefixIndex(field="address", name="host_address_prefix"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("fabric:host_detail", args=[self.pk])

    @property
    def has_bmc(self) -> bool:
        return bool(self.bmc_address)

    def clean(self):
        super().clean()
        if self.management_mac:
            try:
                validate_mac_address(self.management_mac)
            except ValidationError:
                return  # reported by the field validator
            self.management_mac = normalize_mac(self.management_mac)


class VirtualMachine(models.Model):
    name = models.CharField(max_length=200, db_index=True)
    vm_id = models.UUIDField("VM ID", unique=True)
    host = models.ForeignKey(Host, null=True, blank=True, on_delete=models.SET_NULL, related_name="vms")
    cluster = models.ForeignKey(Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="vms")
    state = models.CharField(max_length=10, choices=VMState.choices, default=VMState.OFF)
    memory_bytes = models.BigIntegerField(default=0)
    cpu_count = models.PositiveIntegerField(default=1)
    highly_available = models.BooleanField(default=False)
    storage_path = models.CharField(
        max_length=500, blank=True,
        help_text="Its folder (Get-VM Path); a \\\\server\\share\\… path is on a file server.",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "virtual machine"
        indexes = [CaseInsensitivePrefixIndex(field="name", name="vm_name_prefix")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("fabric:vm_detail", args=[self.pk])


class FileShare(models.Model):
    """An SMB share of a Scale-Out File Server role."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="shares")
    name = models.CharField(max_length=100)
    scope_name = models.CharField("scale-out name", max_length=100)
    path = models.CharField(max_length=500)
    continuously_available = models.BooleanField(default=True)
    state = models.CharField(max_length=20, default="Online")

    class Meta:
        ordering = ["scope_name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "scope_name", "name"], name="fileshare_unique_per_scope")
        ]

    def __str__(self):
        return f"\\\\{self.scope_name}\\{self.name}"
