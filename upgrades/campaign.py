"""Upgrade clusters (several at once): the form, and the page that shows the campaign's waves and
each cluster's prerequisites and node plan before Submit. The API's `POST /api/campaigns/` with
`"action": "upgrade"` checks its input with the same form. The campaign itself is
`compliance.campaigns.submit_campaign(..., upgrade=UpgradeChoice(...))`."""
from django import forms
from django.shortcuts import render
from django.views import View

from compliance.campaigns import CampaignError, UpgradeChoice, plan_waves, submit_campaign
from compliance.campaigns.upgrade import UPGRADABLE, dry_run
from core.audit import AuditAction, record
from core.htmx import go_to
from core.roles import OperatorRequiredMixin
from fabric.models import Cluster, PhysicalComputerProfile, RunAsAccount
from upgrades.forms import script_choice


class UpgradeCampaignForm(forms.Form):
    clusters = forms.ModelMultipleChoiceField(
        Cluster.objects.filter(kind__in=UPGRADABLE).order_by("name"), widget=forms.CheckboxSelectMultiple,
        label="Clusters", help_text="Hyper-V clusters and Scale-Out File Servers; every node of each is upgraded.",
        error_messages={"required": "Choose the clusters to upgrade.",
                        "invalid_choice": "%(value)s is not a Hyper-V cluster or file server Ferry manages.",
                        "invalid_pk_value": "%(pk)s is not a cluster id."})
    profile = forms.ModelChoiceField(
        PhysicalComputerProfile.objects.select_related("image"), label="Profile of the Hyper-V hosts",
        help_text="Its image is the release each node is re-imaged with; the file servers too, unless a profile "
                  "for them is chosen below.",
        error_messages={"required": "Choose a physical computer profile: it names the image the nodes are "
                                    "re-imaged with."})
    file_server_profile = forms.ModelChoiceField(
        PhysicalComputerProfile.objects.select_related("image"), required=False, label="Profile of the file servers",
        help_text="Empty: the Hyper-V hosts' profile.")
    bmc_run_as = forms.ModelChoiceField(
        RunAsAccount.objects.defer("password"), label="BMC Run As account",
        help_text="An account every node's BMC accepts, with the right to power-cycle and set the boot device.",
        error_messages={"required": "Choose the Run As account Ferry uses with the BMCs."})
    parallel = forms.IntegerField(
        label="At most N clusters at once", min_value=1, max_value=50, initial=2,
        help_text="A file server goes before the Hyper-V clusters whose VMs it holds.")
    max_failed_clusters = forms.IntegerField(
        label="Max failed clusters", min_value=0, max_value=100, initial=0,
        help_text="Once more clusters failed, the campaign starts no new one.")
    functional_level = forms.BooleanField(
        required=False, initial=True, label="Raise each cluster's functional level after its last node",
        help_text="The point of no return: afterwards no node of an older release can join the cluster again.")
    pre_script = script_choice("Pre-script", "Runs on each node before it is evacuated; if it fails, that node "
                                             "fails before anything moved, and its cluster's upgrade stops there.")
    post_script = script_choice("Post-script", "Runs on each node once it has joined again and been resumed "
                                               "with its VMs back; if it fails, that node fails.")

    def choice(self) -> UpgradeChoice:
        data = self.cleaned_data
        return UpgradeChoice(profile_id=data["profile"].pk, bmc_run_as_id=data["bmc_run_as"].pk,
                             file_server_profile_id=data["file_server_profile"].pk if data["file_server_profile"]
                             else None, functional_level=data["functional_level"],
                             pre_script=data["pre_script"].name if data.get("pre_script") else "",
                             post_script=data["post_script"].name if data.get("post_script") else "")


def campaign_preview(clusters, choice: UpgradeChoice) -> dict:
    """The waves and each cluster's dry run, in wave order; `problems` is what Submit would refuse."""
    try:
        waves = plan_waves(clusters)
    except CampaignError as error:
        return {"waves": [], "targets": [], "problems": [str(error)]}
    answers = dry_run([t for w in waves for t in w.members], choice)
    return {"waves": waves, "targets": answers, "problems": [p for a in answers for p in a.problems]}


def record_upgrade_campaign(request, job, choice: UpgradeChoice, through: str = "") -> None:
    requested = f"upgrade campaign requested {through}".rstrip()
    record(request, AuditAction.ACTION, job, f"{requested}: {job.title} (at most {job.params['parallel']} at once; "
                                             f"{choice.describe()})")


class UpgradeCampaignView(OperatorRequiredMixin, View):
    """GET: the form, the clusters chosen on a list ticked (`?clusters=ID&clusters=ID`). POST: the
    waves and each cluster's prerequisites and plan; POST with `submit`: the campaign, then its page."""

    template_name = "upgrades/campaign.html"

    def get(self, request):
        ids = [i for i in request.GET.getlist("clusters") if i.isdigit()]
        form = UpgradeCampaignForm(initial={"clusters": ids})
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = UpgradeCampaignForm(request.POST)
        context = {"form": form}
        if not form.is_valid():
            return render(request, self.template_name, context)
        data, choice = form.cleaned_data, form.choice()
        clusters = list(data["clusters"])
        if "submit" in request.POST:
            try:
                job, _ = submit_campaign(clusters, upgrade=choice, parallel=data["parallel"],
                                         max_failed_clusters=data["max_failed_clusters"], user=request.user)
            except CampaignError as refused:
                form.add_error(None, f"Refused, nothing was started: {refused}")
            else:
                record_upgrade_campaign(request, job, choice)
                return go_to(request, job.get_absolute_url())
        context["preview"] = campaign_preview(clusters, choice)
        return render(request, self.template_name, context)
