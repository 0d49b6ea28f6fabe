from django import forms
from django.core.exceptions import ValidationError

from compliance.choices import EvacuationMode, NodeOrder, UpdateClassification, UpdateSeverity
from compliance.models import Baseline, Update
from compliance.remediation import (
    DEFAULT_MAX_FAILED_NODES,
    DEFAULT_MAX_RETRIES_PER_NODE,
    DEFAULT_REBOOT_TIMEOUT_MINUTES,
    RemediationOptions,
)
from fabric.models import Cluster, Host, HostGroup
from nodescripts.models import NodeScript


class BaselineForm(forms.ModelForm):
    rule_classifications = forms.MultipleChoiceField(
        label="Rule: classifications", choices=UpdateClassification.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    rule_severities = forms.MultipleChoiceField(
        label="Rule: severities", choices=UpdateSeverity.choices, required=False,
        widget=forms.CheckboxSelectMultiple, help_text="None ticked: any severity",
    )
    picked = forms.ModelMultipleChoiceField(
        label="Updates picked by hand", queryset=Update.objects.filter(in_catalog=True), required=False,
        widget=forms.SelectMultiple(attrs={"size": 12}),
        help_text="Kept whatever the rule says. Superseded updates are marked in the catalog.",
    )

    class Meta:
        model = Baseline
        fields = [
            "name", "description", "rule_enabled", "rule_classifications", "rule_severities", "rule_released_days",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["picked"].initial = list(
                self.instance.entries.filter(source="picked").values_list("update_id", flat=True)
            )

    def clean(self):
        data = super().clean()
        if data.get("rule_enabled") and not data.get("rule_classifications"):
            self.add_error("rule_classifications", "A rule needs at least one classification.")
        if not data.get("rule_enabled") and not data.get("picked"):
            raise ValidationError("Pick updates, or keep the baseline current with a rule (or both).")
        return data


class AssignmentForm(forms.Form):
    """Assign to exactly one host group, cluster or host."""

    host_group = forms.ModelChoiceField(HostGroup.objects.all(), required=False)
    cluster = forms.ModelChoiceField(Cluster.objects.all(), required=False)
    host = forms.ModelChoiceField(Host.objects.all(), required=False)

    def clean(self):
        data = super().clean()
        chosen = [data[k] for k in ("host_group", "cluster", "host") if data.get(k)]
        if len(chosen) != 1:
            raise ValidationError("Choose exactly one host group, cluster or host.")
        data["target"] = chosen[0]
        return data


class ExemptionForm(forms.Form):
    update = forms.ModelChoiceField(Update.objects.all(), widget=forms.HiddenInput)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000,
                           help_text="Why this host does not need the update")


class RemediateForm(forms.Form):
    """The Update Remediation dialog. Cluster options apply when a cluster is chosen by its name."""

    evacuation = forms.ChoiceField(
        label="Virtual machines", choices=EvacuationMode.choices, initial=EvacuationMode.LIVE_MIGRATION,
        widget=forms.RadioSelect,
    )
    no_restart = forms.BooleanField(
        label="Do not restart the servers after remediation", required=False,
        help_text="Hosts that need a restart stay Pending Reboot until restarted and scanned again.",
    )
    allow_maintenance = forms.BooleanField(
        label="Allow remediation of clusters with nodes already in maintenance mode", required=False
    )
    max_retries_per_node = forms.IntegerField(
        label="Max retries per node", min_value=0, max_value=10, initial=DEFAULT_MAX_RETRIES_PER_NODE
    )
    max_failed_nodes = forms.IntegerField(
        label="Max failed nodes", min_value=0, max_value=64, initial=DEFAULT_MAX_FAILED_NODES,
        help_text="0 stops at the first node that fails (safest). Cluster-Aware Updating allows about a third.",
    )
    reboot_timeout_minutes = forms.IntegerField(
        label="Reboot timeout (minutes)", min_value=1, max_value=240, initial=DEFAULT_REBOOT_TIMEOUT_MINUTES
    )
    pre_script = forms.ModelChoiceField(
        NodeScript.objects.all(), to_field_name="name", required=False, empty_label="none",
        label="Pre-script", help_text="Runs on each node before it is paused; if it fails, that node fails.",
    )
    post_script = forms.ModelChoiceField(
        NodeScript.objects.all(), to_field_name="name", required=False, empty_label="none",
        label="Post-script", help_text="Runs on each node after it is resumed; if it fails, that node fails.",
    )
    node_order = forms.ChoiceField(
        choices=NodeOrder.choices, initial=NodeOrder.FEWEST_VMS, widget=forms.RadioSelect
    )
    explicit_order = forms.CharField(
        label="Explicit order", required=False, help_text="Node names, first to last, separated by commas"
    )
    parallel = forms.IntegerField(
        label="At most N clusters at once", min_value=1, max_value=50, required=False, initial=2,
        help_text=(
            "Several clusters make one campaign; "
            "a file server goes before the Hyper-V clusters whose VMs it holds."
        ),
    )
    max_failed_clusters = forms.IntegerField(
        label="Max failed clusters", min_value=0, max_value=100, required=False, initial=0,
        help_text="Once more clusters failed, the campaign starts no new one.",
    )
    confirm_clustered_hosts = forms.BooleanField(
        required=False,
        label="Remediate the chosen cluster nodes as standalone hosts (their running VMs are saved, not moved)",
    )

    def options(self) -> RemediationOptions:
        data = self.cleaned_data
        order = []
        if data.get("node_order") == NodeOrder.EXPLICIT:
            order = [n.strip() for n in (data.get("explicit_order") or "").split(",") if n.strip()]
        return RemediationOptions(
            no_restart=data.get("no_restart", False),
            allow_maintenance=data.get("allow_maintenance", False),
            save_state=data.get("evacuation") == EvacuationMode.SAVE_STATE,
            max_retries_per_node=data["max_retries_per_node"],
            max_failed_nodes=data["max_failed_nodes"],
            reboot_timeout_minutes=data["reboot_timeout_minutes"],
            node_order=order,
            pre_script=data["pre_script"].name if data.get("pre_script") else "",
            post_script=data["post_script"].name if data.get("post_script") else "",
        )

    def clean(self):
        data = super().clean()
        if data.get("node_order") == NodeOrder.EXPLICIT and not (data.get("explicit_order") or "").strip():
            self.add_error("explicit_order", "Name the nodes in the order to remediate them.")
        return data
