"""Submitting work on a cluster: remediation and rolling upgrade, and a campaign over several
clusters (remediating or upgrading them), each with a dry run.

All go through the code the pages and the commands use: the Remediate dialog's form, plan and
submission (compliance.views.remediate, compliance.orchestration), the campaign's waves and
`submit_campaign` (compliance.campaigns), the Upgrade clusters page's form and preview
(upgrades.campaign), and the upgrade request that `upgrade_cluster` builds
from names (upgrades.rolling). A cluster that already has an active job is refused with 409 (a
campaign waits for it instead), a plan that does not fit with 409 and its problems, bad input with
400.
"""
from dataclasses import asdict

from django.core.management import CommandError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers as s
from compliance.campaigns import UPGRADE, CampaignError, plan_waves, submit_campaign
from compliance.campaigns.planning import campaign_problems
from compliance.choices import NodeOrder
from compliance.forms import RemediateForm
from compliance.orchestration import submit_cluster_remediation
from compliance.views.campaign import record_campaign
from compliance.views.common import Selection
from compliance.views.remediate import cluster_entry, dialog_context
from core import audit
from core.audit import AuditAction
from fabric.management.commands.upgrade_cluster import build_request
from fabric.models import Cluster, PhysicalComputerProfile, RunAsAccount
from jobs.choices import ACTIVE
from jobs.models import Job
from upgrades.campaign import UpgradeCampaignForm, campaign_preview, record_upgrade_campaign
from upgrades.orchestration import UpgradeRefused, plan_upgrade, submit_upgrade


def _active_job(cluster: Cluster) -> Job | None:
    return Job.objects.filter(lock_key=f"cluster:{cluster.pk}", status__in=ACTIVE).first()


def _busy(cluster: Cluster, job: Job, request) -> Response:
    return Response({"detail": f"{cluster.name} already has an active job: #{job.pk} {job.title}.",
                     "job": s.JobSerializer(job, context={"request": request}).data},
                    status=status.HTTP_409_CONFLICT)


def _remediation_plan(entry: dict) -> list[dict]:
    """The dialog's plan rows as JSON: per node its state, what happens, and where its VMs go (or,
    on a file server, which roles and volumes it hands over)."""
    rows = []
    for node, moves in entry["rows"]:
        evacuation = node.evacuation
        rows.append({
            "node": node.name,
            "compliance": node.state,
            "node_state": node.node_state,
            "running_vms": node.running_vms,
            "action": node.action,
            "migrations": [{"vm": m.vm, "to": m.target} for m in evacuation.migration_order()] if evacuation else [],
            "saved": evacuation.saved if evacuation else [],
            "hands_over": [str(m) for m in moves],
        })
    return rows


def _options_form(data: dict, **campaign) -> RemediateForm:
    """The Remediate dialog's form with the API's options (and a campaign's `parallel` and
    `max_failed_clusters`), valid; its errors as a 400 under the API's field names."""
    form = RemediateForm(data={
        "evacuation": data["evacuation"],
        "no_restart": data["no_restart"],
        "allow_maintenance": data["allow_maintenance"],
        "max_retries_per_node": data["max_retries_per_node"],
        "max_failed_nodes": data["max_failed_nodes"],
        "reboot_timeout_minutes": data["reboot_timeout_minutes"],
        "node_order": NodeOrder.EXPLICIT if data["node_order"] else NodeOrder.FEWEST_VMS,
        "explicit_order": ", ".join(data["node_order"]),
        "pre_script": data["pre_script"],
        "post_script": data["post_script"],
        **campaign,
    })
    if not form.is_valid():
        errors = {("node_order" if k == "explicit_order" else k): [e["message"] for e in v]
                  for k, v in form.errors.get_json_data().items()}
        raise ValidationError(errors)
    return form


class RemediateView(APIView):
    """Remediate a cluster node by node, as the Remediate dialog does (`dry_run`: only the plan)."""

    @extend_schema(request=s.RemediationRequestSerializer, responses={
        200: s.RemediationPlanSerializer, 201: s.JobDetailSerializer, 400: OpenApiTypes.OBJECT,
        409: s.RefusalSerializer})
    def post(self, request, pk):
        cluster = get_object_or_404(Cluster, pk=pk)
        given = s.RemediationRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        form = _options_form(data)
        context = dialog_context(Selection([f"cluster:{cluster.pk}"]), form)
        entry = context["clusters"][0]
        problems = context["problems"] + ([entry["storage_error"]] if entry["storage_error"] else [])
        options = context["options"]
        answer = {"cluster": cluster.name, "options": options.describe(), "fits": not problems,
                  "problems": problems, "plan": _remediation_plan(entry)}
        active = _active_job(cluster)
        if data["dry_run"]:
            answer["active_job"] = active.pk if active else None
            return Response(answer)
        if active:
            return _busy(cluster, active, request)
        if problems:
            return Response({"detail": "Refused: " + " ".join(problems), **answer}, status=status.HTTP_409_CONFLICT)
        job, created = submit_cluster_remediation(cluster, options, request.user)
        if not created:
            return _busy(cluster, job, request)
        audit.record(request, AuditAction.ACTION, job,
                     f"remediation requested through the API: {job.title} ({options.describe()})")
        return Response(s.JobDetailSerializer(job, context={"request": request}).data, status=status.HTTP_201_CREATED)


class CampaignView(APIView):
    """Remediate several clusters as one campaign, as the Remediate dialog does with several clusters
    chosen: one parent job, a file server in a wave before the Hyper-V clusters whose VMs it holds, at
    most `parallel` clusters at once (`dry_run`: the waves and each cluster's plan). A cluster with an
    active job is not refused: its part of the campaign waits for that job to end. With `"action":
    "upgrade"` each cluster is upgraded by a rolling upgrade instead, as on the Upgrade clusters page;
    there an active job is a failed prerequisite, as for one cluster."""

    @extend_schema(request=s.CampaignRequestSerializer, responses={
        200: PolymorphicProxySerializer(component_name="CampaignDryRun", resource_type_field_name=None,
                                        serializers=[s.CampaignPlanSerializer, s.UpgradeCampaignPlanSerializer]),
        201: s.JobDetailSerializer, 400: OpenApiTypes.OBJECT, 409: s.RefusalSerializer})
    def post(self, request):
        given = s.CampaignRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        if data["action"] == UPGRADE:
            return self._upgrade(request, data)
        clusters = data["clusters"]
        form = _options_form(data, parallel=data["parallel"], max_failed_clusters=data["max_failed_clusters"])
        options = form.options()
        parallel, max_failed = form.cleaned_data["parallel"], form.cleaned_data["max_failed_clusters"]
        if data["dry_run"]:
            return Response(self._plan(clusters, options, parallel, max_failed))
        try:
            job, _ = submit_campaign(clusters, options, parallel=parallel, max_failed_clusters=max_failed,
                                     user=request.user)
        except CampaignError as refused:
            return Response({"detail": f"Refused: {refused}"}, status=status.HTTP_409_CONFLICT)
        record_campaign(request, job, options, through="through the API")
        return Response(s.JobDetailSerializer(job, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def _upgrade(request, data) -> Response:
        """Each cluster upgraded by a rolling upgrade; checked by the Upgrade clusters page's form, a
        busy cluster or a failing prerequisite refused (409) with the cluster named."""
        names = {"profile": data["profile"], "file_server_profile": data["file_server_profile"],
                 "bmc_run_as": data["bmc_run_as"]}
        ids = {}
        for field, model in (("profile", PhysicalComputerProfile), ("file_server_profile", PhysicalComputerProfile),
                             ("bmc_run_as", RunAsAccount)):
            if names[field].strip():
                found = model.objects.filter(name__iexact=names[field].strip()).first()
                if found is None:
                    raise ValidationError({field: [f"No {model._meta.verbose_name} is named {names[field]!r}."]})
                ids[field] = found.pk
        form = UpgradeCampaignForm(data={
            "clusters": [c.pk for c in data["clusters"]], **ids, "parallel": data["parallel"],
            "max_failed_clusters": data["max_failed_clusters"], "functional_level": data["functional_level"],
            "pre_script": data["pre_script"], "post_script": data["post_script"]})
        if not form.is_valid():
            raise ValidationError({k: [e["message"] for e in v] for k, v in form.errors.get_json_data().items()})
        choice, targets = form.choice(), [*form.cleaned_data["clusters"], *data["hosts"]]
        parallel, max_failed = form.cleaned_data["parallel"], form.cleaned_data["max_failed_clusters"]
        if data["dry_run"]:
            preview = campaign_preview(targets, choice)
            return Response({
                "action": UPGRADE, "upgrade": choice.describe(), "parallel": parallel,
                "max_failed_clusters": max_failed,
                "waves": [w.names for w in preview["waves"]], "fits": not preview["problems"],
                "problems": preview["problems"],
                "clusters": [{"id": a.target.pk, "cluster": a.target.name, "fits": not a.problems,
                              "problems": a.problems, "plan": {**asdict(a.plan), "ok": a.plan.ok} if a.plan else None}
                             for a in preview["targets"]]})
        try:
            job, _ = submit_campaign(targets, upgrade=choice, parallel=parallel, max_failed_clusters=max_failed,
                                     user=request.user)
        except CampaignError as refused:
            return Response({"detail": f"Refused: {refused}"}, status=status.HTTP_409_CONFLICT)
        record_upgrade_campaign(request, job, choice, through="through the API")
        return Response(s.JobDetailSerializer(job, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def _plan(clusters, options, parallel: int, max_failed: int) -> dict:
        """The dialog's waves and per-cluster dry runs; `problems` are what `submit_campaign` refuses."""
        try:
            waves, problems = [w.names for w in plan_waves(clusters)], []
        except CampaignError as error:
            waves, problems = [], [str(error)]
        problems += campaign_problems(clusters, options, parallel)
        answer = []
        for cluster in clusters:
            entry = cluster_entry(cluster, options)
            active = _active_job(cluster)
            answer.append({"id": cluster.pk, "cluster": cluster.name, "fits": not entry["dry_run"].problems,
                           "problems": entry["dry_run"].problems, "storage_warning": entry["storage_error"],
                           "active_job": active.pk if active else None, "plan": _remediation_plan(entry)})
        return {"options": options.describe(), "parallel": parallel, "max_failed_clusters": max_failed,
                "waves": waves, "fits": not problems, "problems": problems, "clusters": answer}


class UpgradeView(APIView):
    """Upgrade a Hyper-V cluster to the release of a profile's image, as `upgrade_cluster` does
    (`dry_run`: the prerequisites' verdicts and the plan)."""

    @extend_schema(request=s.UpgradeRequestSerializer, responses={
        200: s.UpgradePlanSerializer, 201: s.JobDetailSerializer, 400: OpenApiTypes.OBJECT,
        409: s.RefusalSerializer})
    def post(self, request, pk):
        cluster = get_object_or_404(Cluster, pk=pk)
        given = s.UpgradeRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            _, upgrade = build_request(cluster.name, data["profile"], data["bmc_run_as"], data["image"],
                                       data["nodes"], data["node_settings"], functional_level=data["functional_level"],
                                       pre_script=data["pre_script"], post_script=data["post_script"])
        except CommandError as refused:
            return Response({"detail": str(refused)}, status=status.HTTP_400_BAD_REQUEST)
        if data["dry_run"]:
            plan = plan_upgrade(upgrade)
            return Response({**asdict(plan), "ok": plan.ok})
        active = _active_job(cluster)
        if active:
            return _busy(cluster, active, request)
        try:
            job, created = submit_upgrade(upgrade, request.user)
        except UpgradeRefused as refused:
            return Response({"detail": f"Refused: {refused}"}, status=status.HTTP_409_CONFLICT)
        if not created:
            return _busy(cluster, job, request)
        nodes = ", ".join(h.name for h in cluster.nodes.filter(pk__in=[n.host_id for n in upgrade.nodes]))
        audit.record(request, AuditAction.ACTION, job, f"rolling upgrade requested through the API: {cluster.name} "
                                                       f"to build {job.params['target_build']}, nodes {nodes}")
        return Response(s.JobDetailSerializer(job, context={"request": request}).data, status=status.HTTP_201_CREATED)
