"""Library › Node scripts (administrators only): list, add, edit, delete, each change audited."""
from core.roles import ADMINISTRATOR
from core.views.generic import (
    ObjectCreateView,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
)
from nodescripts.filters import NodeScriptFilterSet
from nodescripts.forms import NodeScriptForm
from nodescripts.models import NodeScript
from nodescripts.tables import NodeScriptTable


class NodeScriptListView(ObjectListView):
    model = NodeScript
    required_role = ADMINISTRATOR
    table_class = NodeScriptTable
    filterset_class = NodeScriptFilterSet
    title = "Node scripts"
    add_url_name = "nodescripts:script_add"
    help_text = ("PowerShell scripts a remediation can run on each node before it is paused (pre-script) and after "
                 "it is resumed (post-script). A script that fails or runs out of time fails its node.")


class NodeScriptDetailView(ObjectDetailView):
    model = NodeScript
    required_role = ADMINISTRATOR
    template_name = "nodescripts/script_detail.html"
    fields = ["name", "description", "timeout_seconds", "changed"]
    edit_url_name = "nodescripts:script_edit"
    delete_url_name = "nodescripts:script_delete"
    list_url_name = "nodescripts:script_list"


class NodeScriptCreateView(ObjectCreateView):
    model = NodeScript
    form_class = NodeScriptForm
    cancel_url_name = "nodescripts:script_list"


class NodeScriptEditView(ObjectEditView):
    model = NodeScript
    form_class = NodeScriptForm


class NodeScriptDeleteView(ObjectDeleteView):
    model = NodeScript
    success_url_name = "nodescripts:script_list"
    consequences = "Jobs already submitted keep the copy they were given."
