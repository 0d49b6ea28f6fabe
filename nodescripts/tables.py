import django_tables2 as tables

from core.tables import FerryTable
from nodescripts.models import NodeScript


class NodeScriptTable(FerryTable):
    name = tables.Column(linkify=("nodescripts:script_detail", [tables.A("pk")]))
    description = tables.Column()
    timeout_seconds = tables.Column(verbose_name="Timeout (s)")
    changed = tables.DateTimeColumn(verbose_name="Changed")

    class Meta(FerryTable.Meta):
        model = NodeScript
        fields = ("name", "description", "timeout_seconds", "changed")
