from django import forms

from nodescripts.models import NodeScript


class NodeScriptForm(forms.ModelForm):
    class Meta:
        model = NodeScript
        fields = ["name", "description", "body", "timeout_seconds"]
        widgets = {"body": forms.Textarea(attrs={"rows": 16, "spellcheck": "false", "class": "code"})}
