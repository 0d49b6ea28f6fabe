"""Upgrade actions started from the pages (operator role and up); each runs as a job.

Both take Hyper-V clusters and Scale-Out File Servers (reached from Fabric › File Servers).
Update Version is one button; it refreshes the cluster's record first, so nodes upgraded outside
Ferry count with their real build. Upgrade Cluster is a wizard (django-formtools, state in the session):
Nodes → BMC Configuration → Deployment Customization → Summary; Finish hands the request to
`upgrades.orchestration.submit_upgrade` and goes to the job's page.
"""
from collections import Counter

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views import View
from formtools.wizard.views import SessionWizardView

from core.audit import AuditAction, record
from core.roles import ADMINISTRATOR, AdministratorRequiredMixin, OperatorRequiredMixin, has_role
from fabric.choices import ClusterKind
from fabric.forms.accounts import RunAsAccountForm
from fabric.models import Cluster, DeploymentServer
from upgrades.forms import BMCForm, NodeRowForm, NodeRowFormSet, NodesForm, SummaryForm
from upgrades.orchestration import (
    UpgradeRefused,
    default_node_settings,
    node_builds,
    plan_upgrade,
    refresh_for_update_version,
    submit_update_version,
    submit_upgrade,
)
from upgrades.request import POOL, UpgradeRequest

NEW_RUN_AS_PREFIX = "new_run_as"


def new_run_as_form(data=None) -> RunAsAccountForm:
    """The inline account form sits inside the wizard's form: no `required` attributes, or the
    browser would refuse Next for its empty (and usually folded away) fields."""
    return RunAsAccountForm(data, prefix=NEW_RUN_AS_PREFIX, use_required_attribute=False)


UPGRADABLE = (ClusterKind.HYPERV, ClusterKind.SOFS)


class UpdateVersionView(OperatorRequiredMixin, View):
    """POST: bring the record of the cluster in line (node builds, functional level), then raise the
    functional level when every node runs a newer release."""

    http_method_names = ["post"]

    def post(self, request, pk):
        cluster = get_object_or_404(Cluster, pk=pk, kind__in=UPGRADABLE)
        try:
            for problem in refresh_for_update_version(cluster):
                messages.warning(request, f"Refreshing {cluster.name}: {problem}")
            record(request, AuditAction.ACTION, cluster, f"refreshed for Update Version: functional level "
                                                         f"{cluster.functional_level}, builds "
                                                         f"{', '.join(node_builds(cluster))}")
            job, created = submit_update_version(cluster, request.user)
        except UpgradeRefused as refusal:
            messages.error(request, f"Update Version refused: {refusal}")
            return redirect(cluster.get_absolute_url())
        if created:
            record(request, AuditAction.ACTION, job, f"update version requested: {cluster.name} from functional "
                                                     f"level {job.params['from_level']} to {job.params['to_level']}")
            messages.info(request, f"Update Version of {cluster.name} started.")
        else:
            messages.warning(request, f"{cluster.name} already has an active job: showing it.")
        return redirect(job.get_absolute_url())


# ── the Upgrade Cluster wizard ────────────────────────────────────────────────────────────

STEPS = [("nodes", NodesForm), ("bmc", BMCForm), ("customize", NodeRowFormSet), ("summary", SummaryForm)]
TITLES = {"nodes": "Nodes", "bmc": "BMC Configuration", "customize": "Deployment Customization", "summary": "Summary"}


class _Refused(Exception):
    pass


def directory_server_for(profile):
    """The deployment server that checks names in the directory: the one the profile's image comes from."""
    if profile is not None and profile.image.deployment_server_id:
        return profile.image.deployment_server
    return DeploymentServer.objects.order_by("name").first()


def row_initial(settings, host) -> dict:
    return {"host_id": settings.host_id, "bmc_address": settings.bmc_address or "",
            "new_name": settings.new_name or host.name, "skip_ad_check": settings.skip_ad_check,
            "management_mac": settings.management_mac or "", "logical_network": settings.logical_network_id,
            "subnet": settings.subnet_id, "use_pool": settings.ip == POOL,
            "ip": "" if settings.ip == POOL else (settings.ip or "")}


class UpgradeClusterWizard(OperatorRequiredMixin, SessionWizardView):
    form_list = STEPS
    template_name = "upgrades/wizard.html"

    def dispatch(self, request, *args, **kwargs):
        self.cluster = get_object_or_404(Cluster.objects.select_related("host_group"), pk=kwargs["pk"],
                                         kind__in=UPGRADABLE)
        return super().dispatch(request, *args, **kwargs)

    def get_prefix(self, request, *args, **kwargs):
        return f"upgrade_cluster_{kwargs['pk']}"   # one wizard per cluster in a session

    # -- what each page is built from ---------------------------------------------------------
    def chosen(self):
        """(nodes, profile) from the Nodes page, or ([], None) before it is valid."""
        data = self.get_cleaned_data_for_step("nodes") or {}
        return list(data.get("nodes") or []), data.get("profile")

    def get_form_kwargs(self, step=None):
        if step == "nodes":
            return {"cluster": self.cluster}
        if step == "customize":
            nodes, profile = self.chosen()
            return {"form_kwargs": {"hosts": {h.pk: h for h in nodes},
                                    "directory_server": directory_server_for(profile)}}
        return {}

    def get_form_initial(self, step):
        if step == "bmc":
            nodes, _ = self.chosen()
            accounts = Counter(h.bmc_run_as_id for h in nodes if h.bmc_run_as_id)
            ports = Counter(h.bmc_port for h in nodes)
            initial = {"port": ports.most_common(1)[0][0] if ports else 623}
            if accounts:
                initial["run_as"] = accounts.most_common(1)[0][0]
            return initial
        if step == "customize":
            nodes, profile = self.chosen()
            if profile is None:
                return []
            hosts = {h.pk: h for h in nodes}
            return [row_initial(s, hosts[s.host_id]) for s in default_node_settings(self.cluster, profile)
                    if s.host_id in hosts]
        return super().get_form_initial(step)

    def process_step(self, form):
        data = self.get_form_step_data(form).copy()
        for key in [k for k in data if k.startswith(NEW_RUN_AS_PREFIX)]:
            del data[key]          # the inline account form's password never goes into the session
        if self.steps.current == "nodes":
            before = self.storage.get_step_data("nodes")
            if before is not None and _selection(before) != _selection(data):
                self.storage.data[self.storage.step_data_key].pop("customize", None)  # rows of other nodes
                self.request.session.modified = True
        return data

    def build_request(self, form_dict) -> UpgradeRequest:
        nodes = form_dict["nodes"].cleaned_data
        bmc = form_dict["bmc"].cleaned_data
        summary = form_dict["summary"].cleaned_data if "summary" in form_dict else {"functional_level": True}
        pre, post = summary.get("pre_script"), summary.get("post_script")
        return UpgradeRequest(
            cluster_id=self.cluster.pk, profile_id=nodes["profile"].pk, bmc_run_as_id=bmc["run_as"].pk,
            image_id=None, nodes=[row.settings(bmc["port"]) for row in form_dict["customize"].forms],
            functional_level=bool(summary.get("functional_level")),
            pre_script=pre.name if pre else "", post_script=post.name if post else "")

    def summary_plan(self, summary=None):
        """The plan the Summary shows; with the scripts chosen on it once it was posted (a refusal or
        a field error shows it again)."""
        forms = {}
        for step in ("nodes", "bmc", "customize"):
            form = self.get_form(step=step, data=self.storage.get_step_data(step))
            if not form.is_valid():
                return None
            forms[step] = form
        if summary is not None and summary.is_bound:
            summary.is_valid()          # its valid fields count even when another has an error
            forms["summary"] = summary
        return plan_upgrade(self.build_request(forms))

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        context.update(cluster=self.cluster, cluster_pk=self.cluster.pk, step_title=TITLES[self.steps.current],
                       titles=[(name, TITLES[name]) for name, _ in STEPS],
                       can_create_run_as=has_role(self.request.user, ADMINISTRATOR))
        if self.steps.current == "bmc":
            context["new_run_as_form"] = new_run_as_form()
        if self.steps.current == "summary":
            context["plan"] = self.summary_plan(form)
        return context

    # -- Finish ---------------------------------------------------------------------------------
    def render_done(self, form, **kwargs):
        try:
            return super().render_done(form, **kwargs)
        except _Refused as refusal:      # the stored pages stay, nothing was saved
            self.storage.current_step = "summary"
            summary = self.get_form(step="summary", data=self.storage.get_step_data("summary"))
            summary.is_valid()
            summary.add_error(None, f"Upgrade Cluster refused: {refusal}")
            return self.render(summary)

    def done(self, form_list, form_dict=None, **kwargs):
        upgrade = self.build_request(form_dict)
        try:
            with transaction.atomic():
                job, created = submit_upgrade(upgrade, self.request.user)
                if created:
                    names = ", ".join(row.node_name for row in form_dict["customize"].forms)
                    scripts = "".join(f", {what} {name}" for what, name in (("pre-script", upgrade.pre_script),
                                                                            ("post-script", upgrade.post_script))
                                      if name)
                    record(self.request, AuditAction.ACTION, job,
                           f"upgrade requested: {self.cluster.name} ({names}) with the profile "
                           f"{form_dict['nodes'].cleaned_data['profile']}{scripts}")
        except UpgradeRefused as refusal:
            raise _Refused(str(refusal)) from refusal
        if created:
            messages.info(self.request, f"Upgrade of {self.cluster.name} started.")
        else:
            messages.warning(self.request, f"{self.cluster.name} already has an active job: showing it.")
        return redirect(job.get_absolute_url())


def _selection(step_data) -> tuple:
    return (tuple(sorted(step_data.getlist("nodes-nodes"))), step_data.get("nodes-select_all"),
            step_data.get("nodes-profile"))


class CustomizeRowView(OperatorRequiredMixin, View):
    """htmx: one Deployment Customization row again after a change (subnets of the chosen logical
    network, the pool checkbox, the Missing Settings alert) and, out of band, the Next button."""

    http_method_names = ["post"]

    def post(self, request, pk, index):
        cluster = get_object_or_404(Cluster, pk=pk, kind__in=UPGRADABLE)
        hosts = {h.pk: h for h in cluster.nodes.all()}
        total = _int(request.POST.get("customize-TOTAL_FORMS")) or 0
        rows = [NodeRowForm(prefix=f"customize-{i}", hosts=hosts, initial=_row_values(request.POST, f"customize-{i}"))
                for i in range(min(total, len(hosts)))]
        if not 0 <= index < len(rows):
            return HttpResponse(status=400)
        html = render_to_string("upgrades/_node_row.html", {"row": rows[index], "index": index, "cluster": cluster},
                               request=request)
        html += render_to_string("upgrades/_next_button.html",
                                 {"blocked": any(r.missing() for r in rows), "oob": True}, request=request)
        return HttpResponse(html)


def _row_values(post, prefix: str) -> dict:
    values = {name: post.get(f"{prefix}-{name}", "") for name in NodeRowForm.base_fields}
    for flag in ("use_pool", "skip_ad_check"):
        values[flag] = f"{prefix}-{flag}" in post
    return values


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class BMCRunAsCreateView(AdministratorRequiredMixin, View):
    """htmx, on the BMC Configuration page: create a Run As account in place (administrators only,
    audited) and answer with the account list, the new one chosen. The password is never sent back."""

    http_method_names = ["post"]

    def post(self, request, pk):
        get_object_or_404(Cluster, pk=pk, kind__in=UPGRADABLE)
        form = new_run_as_form(request.POST)
        chosen = None
        if form.is_valid():
            with transaction.atomic():
                account = form.save()
                record(request, AuditAction.CREATE, account, "created on the BMC page of the Upgrade Cluster wizard")
            chosen = account.pk
            form = new_run_as_form()
        bmc = BMCForm(prefix="bmc", initial={"run_as": chosen or _int(request.POST.get("bmc-run_as"))})
        return render(request, "upgrades/_bmc_run_as.html",
                      {"form": bmc, "new_run_as_form": form, "can_create_run_as": True, "created": chosen,
                       "cluster_pk": pk})
