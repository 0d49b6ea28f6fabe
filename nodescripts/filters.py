from core.filters import SearchFilterSet
from nodescripts.models import NodeScript


class NodeScriptFilterSet(SearchFilterSet):
    search_fields = ("name", "description", "body")

    class Meta:
        model = NodeScript
        fields = ["q"]
