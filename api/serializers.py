"""What the API returns and accepts. Inputs that the pages also take are checked by the pages' own
forms (compliance.forms.RemediateForm) or request code (upgrades), so both refuse the same things."""
from rest_framework import serializers

from compliance.choices import EvacuationMode
from compliance.models import BaselineCompliance, HostCompliance
from compliance.remediation import (
    DEFAULT_MAX_FAILED_NODES,
    DEFAULT_MAX_RETRIES_PER_NODE,
    DEFAULT_REBOOT_TIMEOUT_MINUTES,
)
from fabric.models import Cluster, FileShare, Host, VirtualMachine
from jobs.models import Job, JobStep
from nodescripts.models import UnknownScript, copy_for_job

# --- the fabric (read) ---------------------------------------------------------------------------

class ClusterSerializer(serializers.ModelSerializer):
    host_group = serializers.CharField(source="host_group.path", read_only=True)
    nodes = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    witness_votes = serializers.BooleanField(
        read_only=True, help_text="Whether the planner counts a witness vote (read, and online at the last refresh)")

    class Meta:
        model = Cluster
        fields = ["id", "name", "fqdn", "kind", "address", "host_group", "functional_level", "upgrade_version",
                  "mixed_mode_since", "witness_kind", "witness_name", "witness_state", "witness_votes",
                  "last_refreshed", "nodes"]


class HostSerializer(serializers.ModelSerializer):
    host_group = serializers.CharField(source="host_group.path", read_only=True)
    cluster = serializers.SlugRelatedField(read_only=True, slug_field="name")

    class Meta:
        model = Host
        fields = ["id", "name", "fqdn", "address", "host_group", "cluster", "os_name", "os_version", "os_build",
                  "status", "status_reason", "node_state", "memory_bytes", "cpu_count", "bmc_address",
                  "last_refreshed"]


class VirtualMachineSerializer(serializers.ModelSerializer):
    host = serializers.SlugRelatedField(read_only=True, slug_field="name")
    cluster = serializers.SlugRelatedField(read_only=True, slug_field="name")

    class Meta:
        model = VirtualMachine
        fields = ["id", "name", "vm_id", "host", "cluster", "state", "memory_bytes", "cpu_count", "highly_available"]


class FileShareSerializer(serializers.ModelSerializer):
    class Meta:
        model = FileShare
        fields = ["name", "scope_name", "path", "continuously_available", "state"]


class FileServerSerializer(ClusterSerializer):
    shares = FileShareSerializer(many=True, read_only=True)

    class Meta(ClusterSerializer.Meta):
        fields = ClusterSerializer.Meta.fields + ["shares"]


# --- compliance ----------------------------------------------------------------------------------

class BaselineStateSerializer(serializers.ModelSerializer):
    baseline = serializers.CharField(source="baseline.name", read_only=True)
    baseline_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = BaselineCompliance
        fields = ["baseline_id", "baseline", "state", "missing_count", "last_scan"]


class HostComplianceSerializer(serializers.ModelSerializer):
    """A host's overall state (the worst of its baselines) and each baseline's."""

    host_id = serializers.IntegerField(read_only=True)
    host = serializers.CharField(source="host.name", read_only=True)
    cluster = serializers.CharField(source="host.cluster.name", read_only=True, default=None)
    baselines = BaselineStateSerializer(source="host.baseline_compliance", many=True, read_only=True)

    class Meta:
        model = HostCompliance
        fields = ["host_id", "host", "cluster", "state", "missing_count", "pending_reboot", "last_scan", "error",
                  "baselines"]


class ScanRequestSerializer(serializers.Serializer):
    """Scan one cluster or one host; neither: every host that has a baseline."""

    cluster = serializers.PrimaryKeyRelatedField(queryset=Cluster.objects.all(), required=False, allow_null=True)
    host = serializers.PrimaryKeyRelatedField(queryset=Host.objects.all(), required=False, allow_null=True)

    def validate(self, data):
        if data.get("cluster") and data.get("host"):
            raise serializers.ValidationError("Scan a cluster or a host, not both.")
        return data


# --- jobs ----------------------------------------------------------------------------------------

class JobSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(read_only=True, slug_field="username")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "kind", "title", "target_label", "status", "progress", "error", "requested_by", "created",
                  "started", "finished", "cancel_requested", "restarts", "url"]

    def get_url(self, job) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(job.get_absolute_url()) if request else job.get_absolute_url()


class JobStepSerializer(serializers.ModelSerializer):
    node = serializers.CharField(source="parent.title", read_only=True, default="")

    class Meta:
        model = JobStep
        fields = ["id", "order", "title", "target", "node", "status", "progress", "message", "failure_kind",
                  "attempts", "started", "finished", "waiting_for"]


class JobDetailSerializer(JobSerializer):
    steps = serializers.SerializerMethodField()

    class Meta(JobSerializer.Meta):
        fields = JobSerializer.Meta.fields + ["params", "steps"]

    def get_steps(self, job) -> list[dict]:
        steps = job.steps.filter(is_group=False).select_related("parent").order_by("order")
        return JobStepSerializer(steps, many=True).data


class RestartSerializer(serializers.Serializer):
    skip_failed = serializers.BooleanField(default=False, help_text="Mark the failed step skipped and go on after it.")


# --- submitting ----------------------------------------------------------------------------------

class RemediationRequestSerializer(serializers.Serializer):
    """The Remediate dialog's options. Checked again by the dialog's own form."""

    evacuation = serializers.ChoiceField(choices=EvacuationMode.choices, default=EvacuationMode.LIVE_MIGRATION)
    no_restart = serializers.BooleanField(default=False)
    allow_maintenance = serializers.BooleanField(default=False)
    max_retries_per_node = serializers.IntegerField(default=DEFAULT_MAX_RETRIES_PER_NODE)
    max_failed_nodes = serializers.IntegerField(default=DEFAULT_MAX_FAILED_NODES)
    reboot_timeout_minutes = serializers.IntegerField(default=DEFAULT_REBOOT_TIMEOUT_MINUTES)
    node_order = serializers.ListField(child=serializers.CharField(), default=list,
                                       help_text="Node names first to last; empty: fewest VMs first.")
    pre_script = serializers.CharField(default="", allow_blank=True,
                                       help_text="a node script's name: run on each node before it is paused")
    post_script = serializers.CharField(default="", allow_blank=True,
                                        help_text="a node script's name: run on each node after it is resumed")
    dry_run = serializers.BooleanField(default=False, help_text="Return the plan; start nothing.")


class UpgradeRequestSerializer(serializers.Serializer):
    profile = serializers.CharField(help_text="the physical computer profile's name")
    bmc_run_as = serializers.CharField(help_text="the Run As account with BMC rights")
    image = serializers.CharField(required=False, allow_blank=True, default="",
                                  help_text="a library image instead of the profile's")
    nodes = serializers.ListField(child=serializers.CharField(), required=False, default=list,
                                  help_text="node names; empty: every node")
    node_settings = serializers.DictField(
        child=serializers.DictField(), required=False, default=dict,
        help_text="settings keyed by node name, as the upgrade_cluster command's --node-settings file: bmc_address, "
                  "bmc_port, new_name, skip_ad_check, management_mac, logical_network, subnet, ip",
    )
    functional_level = serializers.BooleanField(
        default=True, help_text="raise the functional level after the last node"
    )
    pre_script = serializers.CharField(default="", allow_blank=True,
                                       help_text="a node script's name: run on each node before it is evacuated")
    post_script = serializers.CharField(default="", allow_blank=True,
                                        help_text="a node script's name: run on each node once it has joined again "
                                                  "and been resumed")
    dry_run = serializers.BooleanField(default=False, help_text="Return the prerequisites and the plan; start nothing.")

    def _script(self, name: str) -> str:
        try:
            copy_for_job(name.strip())
        except UnknownScript as error:
            raise serializers.ValidationError(str(error)) from None
        return name.strip()

    def validate_pre_script(self, name):
        return self._script(name)

    def validate_post_script(self, name):
        return self._script(name)


class CampaignRequestSerializer(RemediationRequestSerializer):
    """Several clusters remediated as one campaign, with the Remediate dialog's options (checked by its
    own form, as for one cluster), or, with `"action": "upgrade"`, upgraded by rolling upgrades with
    the Upgrade clusters page's choices (checked by its form)."""

    action = serializers.ChoiceField(choices=[("remediate", "remediate"), ("upgrade", "upgrade")],
                                     default="remediate", help_text="what happens to each cluster")
    clusters = serializers.PrimaryKeyRelatedField(queryset=Cluster.objects.all(), many=True, allow_empty=False,
                                                  help_text="cluster ids")
    hosts = serializers.PrimaryKeyRelatedField(
        queryset=Host.objects.all(), many=True, required=False, default=list,
        help_text="upgrade: standalone host ids, which a rolling upgrade refuses (remediate them instead)")
    profile = serializers.CharField(required=False, allow_blank=True, default="",
                                    help_text="upgrade: the physical computer profile's name (every cluster's, "
                                              "or the Hyper-V hosts' when file_server_profile is given)")
    file_server_profile = serializers.CharField(required=False, allow_blank=True, default="",
                                                help_text="upgrade: the file servers' profile (default: profile)")
    bmc_run_as = serializers.CharField(required=False, allow_blank=True, default="",
                                       help_text="upgrade: the Run As account every node's BMC accepts")
    functional_level = serializers.BooleanField(
        default=True, help_text="upgrade: raise each cluster's functional level after its last node")
    parallel = serializers.IntegerField(default=2, help_text="At most this many clusters at once (1 to 50).")
    max_failed_clusters = serializers.IntegerField(default=0, help_text="Once more clusters failed, no new one starts.")
    dry_run = serializers.BooleanField(default=False, help_text="Return the waves and each cluster's plan; start "
                                                                "nothing.")

    def validate_clusters(self, clusters):
        if len({c.pk for c in clusters}) != len(clusters):
            raise serializers.ValidationError("A cluster is named twice.")
        return clusters

    def validate(self, data):
        if data["action"] == "remediate" and data["hosts"]:
            raise serializers.ValidationError({"hosts": ["A campaign through the API remediates clusters; "
                                                         "remediate a standalone host on its own."]})
        if data["action"] == "upgrade":
            missing = {name: [f"An upgrade needs {what}."] for name, what in (
                ("profile", "a physical computer profile"), ("bmc_run_as", "the BMC Run As account"))
                if not data[name].strip()}
            if missing:
                raise serializers.ValidationError(missing)
        return data


# --- answers, as the schema documents them --------------------------------------------------------

class MigrationSerializer(serializers.Serializer):
    vm = serializers.CharField()
    to = serializers.CharField()


class RemediationNodePlanSerializer(serializers.Serializer):
    node = serializers.CharField()
    compliance = serializers.CharField(help_text="the node's compliance state at the last scan")
    node_state = serializers.CharField()
    running_vms = serializers.IntegerField()
    action = serializers.CharField(help_text="“remediate”, or why the node is skipped")
    migrations = MigrationSerializer(many=True, help_text="live migrations, in their order")
    saved = serializers.ListField(child=serializers.CharField(), help_text="VMs saved and started again")
    hands_over = serializers.ListField(child=serializers.CharField(),
                                       help_text="a file server node's roles and volumes that move")


class RemediationPlanSerializer(serializers.Serializer):
    cluster = serializers.CharField()
    options = serializers.CharField()
    fits = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())
    plan = RemediationNodePlanSerializer(many=True)
    active_job = serializers.IntegerField(allow_null=True, required=False)


class CampaignClusterPlanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    cluster = serializers.CharField()
    fits = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())
    storage_warning = serializers.CharField(help_text="a file server whose roles and volumes could not be read")
    active_job = serializers.IntegerField(allow_null=True, help_text="the campaign waits for it to end")
    plan = RemediationNodePlanSerializer(many=True)


class CampaignPlanSerializer(serializers.Serializer):
    options = serializers.CharField()
    parallel = serializers.IntegerField()
    max_failed_clusters = serializers.IntegerField()
    waves = serializers.ListField(child=serializers.ListField(child=serializers.CharField()),
                                  help_text="cluster names, wave by wave: a file server before the clusters whose "
                                            "VMs it holds")
    fits = serializers.BooleanField(help_text="a submit would start the campaign")
    problems = serializers.ListField(child=serializers.CharField())
    clusters = CampaignClusterPlanSerializer(many=True)


class UpgradeCampaignTargetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    cluster = serializers.CharField(help_text="the cluster's (or a refused standalone host's) name")
    fits = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())
    plan = serializers.DictField(allow_null=True, help_text="as clusters/<id>/upgrade/ answers a dry run; null "
                                                            "when the cluster is refused before its prerequisites")


class UpgradeCampaignPlanSerializer(serializers.Serializer):
    action = serializers.CharField(help_text="upgrade")
    upgrade = serializers.CharField(help_text="the profiles, the BMC Run As account, the functional level")
    parallel = serializers.IntegerField()
    max_failed_clusters = serializers.IntegerField()
    waves = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    fits = serializers.BooleanField(help_text="a submit would start the campaign")
    problems = serializers.ListField(child=serializers.CharField())
    clusters = UpgradeCampaignTargetSerializer(many=True)


class VerdictSerializer(serializers.Serializer):
    name = serializers.CharField()
    ok = serializers.BooleanField()
    message = serializers.CharField()


class UpgradeNodePlanSerializer(serializers.Serializer):
    host_id = serializers.IntegerField()
    name = serializers.CharField()
    steps = serializers.ListField(child=serializers.CharField())
    moves = serializers.ListField(child=serializers.ListField(child=serializers.CharField()),
                                  help_text="[VM, destination node] pairs")


class UpgradePlanSerializer(serializers.Serializer):
    cluster = serializers.CharField()
    kind = serializers.CharField(help_text="the cluster's kind: hyperv or sofs")
    target = serializers.CharField(help_text="the target release")
    ok = serializers.BooleanField(help_text="every prerequisite holds")
    verdicts = VerdictSerializer(many=True)
    nodes = UpgradeNodePlanSerializer(many=True)
    functional_level = serializers.CharField()
    point_of_no_return = serializers.CharField()
    maintenance_window = serializers.CharField(help_text="whether the nodes' maintenance window is open now, and "
                                                         "when it closes or next opens; empty when none is set")


class RefusalSerializer(serializers.Serializer):
    detail = serializers.CharField()
    job = JobSerializer(required=False, help_text="the cluster's active job, when that is the reason")
    problems = serializers.ListField(child=serializers.CharField(), required=False)
