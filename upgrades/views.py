"""Upgrade actions started from the pages (operator role and up); each runs as a job."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views import View

from fabric.audit import record
from fabric.choices import AuditAction, ClusterKind
from fabric.models import Cluster
from fabric.roles import OperatorRequiredMixin
from upgrades.orchestration import UpgradeRefused, submit_update_version


class UpdateVersionView(OperatorRequiredMixin, View):
    """POST: raise the functional level of a cluster whose nodes all run a newer release."""

    http_method_names = ["post"]

    def post(self, request, pk):
        cluster = get_object_or_404(Cluster, pk=pk, kind=ClusterKind.HYPERV)
        try:
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
