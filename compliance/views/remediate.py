"""The Update Remediation dialog (an htmx modal): resources, options, the dry-run plan, submit."""
from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import escape
from django.views import View

from compliance.choices import ComplianceState, EvacuationMode, NodeOrder
from compliance.forms import RemediateForm
from compliance.models import HostCompliance
from compliance.orchestration import UnknownScript, node_scripts, submit_cluster_remediation, submit_host_remediation
from compliance.remediation import RemediationOptions, cluster_dry_run, standalone_problems
from compliance.views.campaign import campaign_context, submit_campaign_from_dialog
from compliance.views.common import Selection
from core.audit import AuditAction, record
from core.htmx import go_to
from core.roles import OperatorRequiredMixin
from fabric.choices import ClusterKind, VMState
from fabric.nodeops.workloads.sofs import sofs_dry_run


def _host_entries(hosts, options: RemediationOptions, confirmed: bool):
    states = dict(HostCompliance.objects.filter(host__in=hosts).values_list("host_id", "state"))
    entries, problems = [], []
    for host in hosts:
        state = states.get(host.pk, ComplianceState.UNKNOWN)
        running = [vm.name for vm in host.vms.all() if vm.state == VMState.RUNNING]
        host_problems = standalone_problems(host)
        if state == ComplianceState.COMPLIANT:
            host_problems.append(f"{host.name} is compliant: there is nothing to remediate.")
        if host.cluster_id and not confirmed:
            host_problems.append(
                f"{host.name} is a node of {host.cluster.name}: confirm that it is remediated as a standalone "
                f"host (its running VMs are saved and started again, not moved), or choose the cluster by its name."
            )
        entries.append({"host": host, "state": ComplianceState(state).label, "state_value": state,
                        "running": running, "problems": host_problems})
        problems.extend(host_problems)
    return entries, problems


def cluster_entry(cluster, options: RemediationOptions) -> dict:
    """The cluster's dry run; for a file server also the roles and volumes each node hands over."""
    dry = cluster_dry_run(cluster, options)
    moves, storage_error = {}, ""
    file_server = cluster.kind == ClusterKind.SOFS
    if file_server and dry.to_remediate:
        moves, storage_error = sofs_dry_run(cluster, dry.to_remediate)
    rows = [(n, moves.get(n.name, [])) for n in dry.nodes]
    return {"cluster": cluster, "dry_run": dry, "rows": rows, "file_server": file_server,
            "storage_error": storage_error}


def dialog_context(selection: Selection, form: RemediateForm) -> dict:
    options = form.options() if form.is_valid() else RemediationOptions()
    confirmed = form.is_valid() and form.cleaned_data.get("confirm_clustered_hosts")
    clusters = [cluster_entry(c, options) for c in selection.clusters]
    hosts, host_problems = _host_entries(selection.hosts, options, confirmed)
    problems = [p for c in clusters for p in c["dry_run"].problems] + host_problems
    if not selection:
        problems.append("Choose at least one cluster or host that is not compliant.")
    if not form.is_valid():
        problems.append("Correct the options marked below.")
    campaign = campaign_context(selection, form)
    if campaign.get("error"):
        problems.append(campaign["error"])
    return {
        "campaign": campaign,
        "form": form,
        "selection": selection,
        "clusters": clusters,
        "hosts": hosts,
        "clustered_hosts": any(h.cluster_id for h in selection.hosts),
        "vm_clusters": any(not c["file_server"] for c in clusters),
        "file_servers": [c["cluster"].name for c in clusters if c["file_server"]],
        "problems": problems,
        "can_submit": not problems,
        "options": options,
    }


class RemediateView(OperatorRequiredMixin, View):
    template_name = "compliance/remediate_dialog.html"

    def get(self, request):
        selection = Selection.from_request(request)
        defaults = RemediationOptions()
        form = RemediateForm(data={
            "evacuation": EvacuationMode.LIVE_MIGRATION, "node_order": NodeOrder.FEWEST_VMS,
            "max_retries_per_node": defaults.max_retries_per_node, "max_failed_nodes": defaults.max_failed_nodes,
            "reboot_timeout_minutes": defaults.reboot_timeout_minutes,
        })
        return self._render(request, dialog_context(selection, form))

    def post(self, request):
        selection = Selection.from_request(request)
        if selection.invalid:
            return HttpResponseBadRequest("Unknown selection: " + escape(", ".join(selection.invalid)))
        form = RemediateForm(request.POST)
        context = dialog_context(selection, form)
        action = request.POST.get("action", "preview")
        if action == "preview":
            return TemplateResponse(request, f"{self.template_name}#plan", context)
        if not context["can_submit"]:
            return self._render(request, context, status=422 if not request.htmx else 200)
        options = context["options"]
        try:
            node_scripts(options)  # deleted since the dialog was opened?
        except UnknownScript as error:
            form.add_error(None, str(error))
            return self._render(request, dialog_context(selection, form), status=422 if not request.htmx else 200)
        if context["campaign"]:
            return submit_campaign_from_dialog(request, selection, form, options)
        jobs, existing = [], []
        for cluster in selection.clusters:
            job, created = submit_cluster_remediation(cluster, options, request.user)
            (jobs if created else existing).append(job)
        # hosts chosen one by one: one job per cluster they belong to, one per standalone host
        batches: dict[str, list] = {}
        for host in selection.hosts:
            key = f"cluster:{host.cluster_id}" if host.cluster_id else f"host:{host.pk}"
            batches.setdefault(key, []).append(host)
        for hosts in batches.values():
            job, created = submit_host_remediation(hosts, options, request.user)
            (jobs if created else existing).append(job)
        for job in jobs:
            record(request, AuditAction.ACTION, job, f"remediation requested: {job.title} ({options.describe()})")
        for job in existing:
            messages.warning(
                request, f"{job.target_label} already has an active job: #{job.pk} {job.title}. Showing it."
            )
        every = jobs + existing
        if len(every) == 1:
            return go_to(request, every[0].get_absolute_url())
        messages.success(request, f"Started {len(jobs)} remediation jobs.")
        return go_to(request, reverse("jobs:job_list"))

    def _render(self, request, context, status=200):
        template = self.template_name if request.htmx else "compliance/remediate_page.html"
        return TemplateResponse(request, template, context, status=status)
