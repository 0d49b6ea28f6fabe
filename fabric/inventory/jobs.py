"""Starting discovery and refresh as jobs (what the pages do; one active job per target)."""
from fabric.models import Cluster, Host
from jobs.engine import PlanStep, submit_job

WHAT_LABEL = {"cluster": "cluster", "host": "host", "update_server": "update server",
              "deployment_server": "deployment server"}


def submit_discovery(what: str, params: dict, *, user=None):
    """Queue the discovery of `params["address"]`; returns (job, created)."""
    params = dict(params, what=what)
    address = params["address"]
    title = f"Add {WHAT_LABEL[what]} {address}"
    plan = [PlanStep("fabric.discover", title=title, target=address, params={})]
    return submit_job(kind="discovery", title=title, plan=plan, target=address,
                      lock_key=f"discover:{address.lower()}", requested_by=user, params=params)


def submit_refresh(target: Cluster | Host, *, user=None):
    """Queue a refresh of a cluster or a host; returns (job, created)."""
    if isinstance(target, Cluster):
        plan = [PlanStep("fabric.refresh_cluster", title=f"Refresh {target.name}", target=target.name,
                         params={"cluster_id": target.pk})]
        lock = f"refresh:cluster:{target.pk}"
    else:
        plan = [PlanStep("fabric.refresh_host", title=f"Refresh {target.name}", target=target.name,
                         params={"host_id": target.pk})]
        lock = f"refresh:host:{target.pk}"
    return submit_job(kind="refresh", title=f"Refresh {target.name}", plan=plan, target=target, lock_key=lock,
                      requested_by=user)
