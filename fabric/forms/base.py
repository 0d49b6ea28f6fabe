from django import forms

from fabric.agents.connection import forbidden_reason, insecure_winrm_allowed
from fabric.choices import WinRMTransport
from fabric.models import HostGroup, RunAsAccount
from fabric.models.grouptree import GroupTree

ENDPOINT_FIELDS = ["address", "winrm_port", "winrm_https", "winrm_transport", "ca_path", "allow_insecure", "run_as"]
ADDRESS_FIELDS = ("address", "bmc_address")


def explain_connection_policy(form) -> None:
    """Say on the form, before anyone tries, what the installation does not allow."""
    if "allow_insecure" in form.fields and not insecure_winrm_allowed():
        form.fields["allow_insecure"].help_text = (
            "Not available: this installation allows only HTTPS with NTLM, Kerberos or CredSSP "
            "(FERRY_ALLOW_INSECURE_WINRM is off).")


def add_connection_policy_errors(form, data: dict) -> None:
    """What the installation refuses whatever the machine's settings: insecure WinRM and
    loopback/link-local/metadata addresses, unless FERRY_ALLOW_INSECURE_WINRM is on."""
    if insecure_winrm_allowed():
        return
    for name in ADDRESS_FIELDS:
        value = str(data.get(name) or "").strip()
        reason = forbidden_reason(value) if value else ""
        if reason:
            form.add_error(name, f"Ferry does not send credentials to {value}: {reason}.")
    if "winrm_https" in data and not data.get("winrm_https"):
        form.add_error(
            "winrm_https", "This installation allows WinRM over HTTPS only (FERRY_ALLOW_INSECURE_WINRM is off)."
        )
    if data.get("winrm_transport") == WinRMTransport.BASIC:
        form.add_error("winrm_transport", "This installation does not allow Basic authentication "
                                          "(FERRY_ALLOW_INSECURE_WINRM is off).")
    if data.get("allow_insecure"):
        form.add_error("allow_insecure", "This installation does not allow insecure WinRM "
                                         "(FERRY_ALLOW_INSECURE_WINRM is off).")


class FabricForm(forms.ModelForm):
    """A model form whose Run As choices never decrypt a password and whose host-group choices
    show the tree. ModelForm runs the model's full_clean, so model rules give field errors."""

    secret_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField) and field.queryset.model is RunAsAccount:
                field.queryset = RunAsAccount.objects.defer("password")
            if isinstance(field.widget, forms.Textarea):
                field.widget.attrs.setdefault("rows", 3)
        explain_connection_policy(self)
        group_fields = [n for n in ("host_group", "parent") if n in self.fields]
        if not group_fields:
            return
        tree = GroupTree.load()
        # A group cannot go under itself or its own subgroups.
        moving = self.instance.pk if isinstance(self.instance, HostGroup) else None
        for name in group_fields:
            field = self.fields[name]
            if moving:
                field.queryset = field.queryset.exclude(pk__in=tree.descendant_ids(moving))
            field.choices = [("", "---------")] + tree.choices(exclude_below=moving)

    def clean(self):
        data = super().clean()
        if "allow_insecure" in self.fields:
            add_connection_policy_errors(self, data)
        return data
