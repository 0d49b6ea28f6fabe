from django import forms

from fabric.models import HostGroup, RunAsAccount
from fabric.models.grouptree import GroupTree

ENDPOINT_FIELDS = ["address", "winrm_port", "winrm_https", "winrm_transport", "ca_path", "allow_insecure", "run_as"]


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
