"""Adding machines by discovery, and refreshing them, from the pages (both run as jobs).

The form checks what it can without the network (address, policy for insecure connections);
the job then asks the machines and changes the inventory only when everything was read.
"""
from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import FormView

from core.audit import AuditAction, record
from core.htmx import go_to
from core.roles import AdministratorRequiredMixin, OperatorRequiredMixin
from fabric.agents.connection import insecure_winrm_allowed
from fabric.choices import WinRMTransport
from fabric.forms.base import add_connection_policy_errors, explain_connection_policy
from fabric.inventory.jobs import submit_discovery, submit_refresh
from fabric.models import Cluster, Host, HostGroup, RunAsAccount
from fabric.models.grouptree import GroupTree
from fabric.models.validators import validate_host_address


class MachineForm(forms.Form):
    """How to reach the machine: the same fields every managed machine has."""

    address = forms.CharField(max_length=255, validators=[validate_host_address],
                              help_text="IP address or DNS name")
    run_as = forms.ModelChoiceField(RunAsAccount.objects.defer("password"), label="Run As account",
                                    help_text="An administrator on the machine")
    winrm_https = forms.BooleanField(label="WinRM over HTTPS", initial=True, required=False)
    winrm_port = forms.IntegerField(label="WinRM port", required=False, min_value=1, max_value=65535,
                                    help_text="Empty: 5986 with HTTPS, 5985 without")
    winrm_transport = forms.ChoiceField(label="Authentication", choices=WinRMTransport.choices,
                                        initial=WinRMTransport.NTLM,
                                        help_text="Kerberos in a domain (give the DNS name); CredSSP hands the "
                                                  "password to the machine, so HTTPS only")
    ca_path = forms.CharField(label="CA bundle path", required=False, max_length=500,
                              help_text="Empty: the system trust store")
    allow_insecure = forms.BooleanField(
        required=False, help_text="Allow Basic authentication or plain HTTP to this machine (labs only)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        explain_connection_policy(self)

    def clean(self):
        data = super().clean()
        add_connection_policy_errors(self, data)
        insecure = not data.get("winrm_https") or data.get("winrm_transport") == WinRMTransport.BASIC
        if insecure and not data.get("allow_insecure") and insecure_winrm_allowed():
            self.add_error("allow_insecure", "Plain HTTP or Basic authentication exposes credentials on the network: "
                                             "tick this box to accept that for this machine, or use HTTPS with "
                                             "NTLM, Kerberos or CredSSP.")
        if data.get("winrm_transport") == WinRMTransport.CREDSSP and not data.get("winrm_https"):
            self.add_error("winrm_transport", "CredSSP hands the Run As account's password to the machine: use it "
                                              "only over HTTPS (a certificate Ferry validates).")
        return data

    def job_params(self) -> dict:
        data = self.cleaned_data
        return {
            "address": data["address"].strip(), "run_as_id": data["run_as"].pk, "port": data.get("winrm_port"),
            "https": bool(data.get("winrm_https")), "transport": data["winrm_transport"],
            "ca_path": data.get("ca_path") or "", "allow_insecure": bool(data.get("allow_insecure")),
        }


def _group_field() -> forms.ModelChoiceField:
    field = forms.ModelChoiceField(HostGroup.objects.all(), label="Host group", required=False,
                                   help_text="Empty: All Hosts")
    field.choices = [("", "---------")] + GroupTree.load().choices()
    return field


class ClusterDiscoveryForm(MachineForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].help_text = "The cluster's name or IP address, or any node's"
        self.fields["host_group"] = _group_field()

    def job_params(self) -> dict:
        group = self.cleaned_data.get("host_group")
        return {**super().job_params(), "host_group_id": group.pk if group else None}


class HostDiscoveryForm(ClusterDiscoveryForm):
    bmc_address = forms.GenericIPAddressField(label="BMC address", required=False)
    bmc_port = forms.IntegerField(label="BMC port", initial=623, min_value=1, max_value=65535, required=False)
    bmc_run_as = forms.ModelChoiceField(RunAsAccount.objects.defer("password"), label="BMC Run As account",
                                        required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].help_text = "IP address or DNS name of the host"

    def clean(self):
        data = super().clean()
        if data.get("bmc_address") and not data.get("bmc_run_as"):
            self.add_error("bmc_run_as", "A BMC address needs the BMC's login.")
        return data

    def job_params(self) -> dict:
        data = self.cleaned_data
        params = super().job_params()
        if data.get("bmc_address"):
            params.update(bmc_address=data["bmc_address"], bmc_port=data.get("bmc_port") or 623,
                          bmc_run_as_id=data["bmc_run_as"].pk)
        return params


class UpdateServerDiscoveryForm(MachineForm):
    wsus_port = forms.IntegerField(label="WSUS port", initial=8530, min_value=1, max_value=65535)
    wsus_ssl = forms.BooleanField(label="WSUS over SSL", required=False)

    def job_params(self) -> dict:
        return {**super().job_params(), "wsus_port": self.cleaned_data["wsus_port"],
                "wsus_ssl": bool(self.cleaned_data.get("wsus_ssl"))}


class DeploymentServerDiscoveryForm(MachineForm):
    remote_install_path = forms.CharField(label="RemoteInstall folder", required=False, max_length=300,
                                          help_text="Empty: D:\\RemoteInstall")

    def job_params(self) -> dict:
        return {**super().job_params(), "remote_install_path": self.cleaned_data.get("remote_install_path") or None}


class DiscoverView(AdministratorRequiredMixin, FormView):
    """Add a machine: the form, then a discovery job (its page shows progress and the result)."""

    template_name = "fabric/discovery/add.html"
    what = ""
    title = ""
    intro = ""
    cancel_url_name = "fabric:server_list"
    extra_params: dict = {}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title=self.title, intro=self.intro, cancel_url=reverse(self.cancel_url_name))
        return context

    def form_valid(self, form):
        params = {**form.job_params(), **self.extra_params}
        job, created = submit_discovery(self.what, params, user=self.request.user)
        record(self.request, AuditAction.ACTION, job,
               f"{self.title}: discovery of {params['address']} {'requested' if created else 'already running'}")
        if created:
            messages.info(self.request, f"Discovery of {params['address']} started.")
        else:
            messages.warning(self.request, f"{params['address']} is already being discovered: showing that job.")
        return redirect(job.get_absolute_url())

    def form_invalid(self, form):
        address = str(form.data.get("address", ""))[:100]
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        record(self.request, AuditAction.ACTION, None, f"{self.title}: discovery refused: {problems}"[:1000],
               object_type="discovery request", object_repr=address)
        return super().form_invalid(form)


class AddClusterView(DiscoverView):
    form_class = ClusterDiscoveryForm
    what = "cluster"
    extra_params = {"kind": "hyperv"}
    title = "Add Hyper-V cluster"
    cancel_url_name = "fabric:cluster_list"
    intro = ("Ferry reads the cluster's nodes and their management addresses, each node's OS, NICs and "
             "virtual machines, and adds them to the host group.")


class AddFileServerView(DiscoverView):
    form_class = ClusterDiscoveryForm
    what = "cluster"
    extra_params = {"kind": "sofs"}
    title = "Add Scale-Out File Server"
    intro = "Ferry reads the file server cluster's nodes, their OS and its scale-out shares."
    cancel_url_name = "fabric:fileserver_list"


class AddHostView(DiscoverView):
    form_class = HostDiscoveryForm
    what = "host"
    title = "Add Hyper-V host"
    intro = "A standalone Hyper-V host. For a cluster node, add its cluster instead."


class AddUpdateServerView(DiscoverView):
    form_class = UpdateServerDiscoveryForm
    what = "update_server"
    title = "Add update server (WSUS)"
    intro = "Ferry reaches the WSUS server over WinRM and reads its catalog with the UpdateServices module."
    cancel_url_name = "compliance:updateserver_list"


class AddDeploymentServerView(DiscoverView):
    form_class = DeploymentServerDiscoveryForm
    what = "deployment_server"
    title = "Add deployment server (WDS)"
    intro = "The WDS server that stages bare-metal deployments (PXE) for re-imaged hosts."
    cancel_url_name = "fabric:deploymentserver_list"


class RefreshView(OperatorRequiredMixin, View):
    """POST: queue a refresh of one cluster or host and show its job."""

    model = None
    http_method_names = ["post"]

    def post(self, request, pk):
        target = get_object_or_404(self.model, pk=pk)
        job, created = submit_refresh(target, user=request.user)
        record(request, AuditAction.ACTION, target,
               f"refresh {'requested' if created else 'already running'}: job #{job.pk}")
        if not created:
            messages.info(request, f"{target} is already being refreshed.")
        return go_to(request, job.get_absolute_url())


class ClusterRefreshView(RefreshView):
    model = Cluster


class HostRefreshView(RefreshView):
    model = Host
