"""What the compliance views share: the selection."""
from fabric.models import Cluster, Host


class Selection:
    """What the operator ticked in the Compliance view: `cluster:<id>` and `host:<id>` values."""

    def __init__(self, values):
        self.cluster_ids, self.host_ids, self.invalid = [], [], []
        for value in values:
            kind, _, pk = str(value).partition(":")
            if kind in ("cluster", "host") and pk.isdigit():
                (self.cluster_ids if kind == "cluster" else self.host_ids).append(int(pk))
            elif value:
                self.invalid.append(value)
        self.clusters = list(Cluster.objects.filter(pk__in=self.cluster_ids).order_by("name"))
        chosen = {c.pk for c in self.clusters}
        # a node whose cluster is chosen by name is remediated with its cluster
        self.hosts = list(
            Host.objects.filter(pk__in=self.host_ids).exclude(cluster_id__in=chosen).select_related("cluster").order_by("name")
        )

    @classmethod
    def from_request(cls, request, name="selected"):
        data = request.POST if request.method == "POST" else request.GET
        return cls(data.getlist(name))

    def __bool__(self):
        return bool(self.clusters or self.hosts)

    @property
    def values(self) -> list[str]:
        return [f"cluster:{c.pk}" for c in self.clusters] + [f"host:{h.pk}" for h in self.hosts]

    def all_hosts(self) -> list[Host]:
        hosts = {h.pk: h for h in self.hosts}
        for cluster in self.clusters:
            hosts.update({h.pk: h for h in cluster.nodes.all()})
        return list(hosts.values())
