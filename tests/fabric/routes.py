"""Every URL of the fabric app, with arguments taken from a small inventory.

Names tell what a URL does: `*_list` and `*_detail` read; `*_add`, `*_edit` and `*_delete` change.
`every_route` fails on a URL that fits neither, so a new page cannot skip the permission tests.
"""
from django.urls import URLPattern, reverse

from fabric.urls import urlpatterns

READ_SUFFIXES = ("_list", "_detail")
CHANGE_SUFFIXES = ("_add", "_edit", "_delete")
OPERATOR_SUFFIXES = ("_refresh",)  # POST-only actions that start a job: operator and up


def _object_for(name: str, inv):
    prefix = name.rsplit("_", 1)[0]
    if prefix == "vm":
        from fabric.models import VirtualMachine

        return VirtualMachine.objects.order_by("pk").first()
    return {
        "host": inv.node, "hostgroup": inv.group, "cluster": inv.cluster, "fileserver": inv.sofs,
        "image": inv.image, "profile": inv.profile, "deploymentserver": inv.deployment_server,
        "logicalnetwork": inv.network, "subnet": inv.subnet, "pool": inv.pool, "runas": inv.runas,
    }[prefix]


def _kwargs(pattern: URLPattern, inv) -> dict:
    converters = pattern.pattern.converters
    if "network_pk" in converters:
        return {"network_pk": inv.network.pk}
    if "subnet_pk" in converters:
        return {"subnet_pk": inv.subnet.pk}
    if "pk" in converters:
        return {"pk": _object_for(pattern.name, inv).pk}
    return {}


def every_route(inv) -> list[tuple[str, str]]:
    routes = []
    for pattern in urlpatterns:
        name = pattern.name
        assert name.endswith(READ_SUFFIXES + CHANGE_SUFFIXES + OPERATOR_SUFFIXES), (
            f"fabric:{name} is neither a read, a change nor an operator action URL"
        )
        if name.endswith(OPERATOR_SUFFIXES):
            continue
        routes.append((name, reverse(f"fabric:{name}", kwargs=_kwargs(pattern, inv))))
    return routes


def read_routes(inv):
    return [(n, u) for n, u in every_route(inv) if n.endswith(READ_SUFFIXES)]


def change_routes(inv):
    return [(n, u) for n, u in every_route(inv) if n.endswith(CHANGE_SUFFIXES)]


def operator_routes(inv):
    return [
        (p.name, reverse(f"fabric:{p.name}", kwargs=_kwargs(p, inv)))
        for p in urlpatterns
        if p.name.endswith(OPERATOR_SUFFIXES)
    ]
