"""Campaigns: several clusters remediated or upgraded as one parent job whose children are the
per-cluster jobs.

The parent holds only its own lease, never a cluster's: each child is a normal cluster remediation
or rolling upgrade (its own job, lock and lease, same safety rules). A campaign runs in waves: a Scale-Out File Server
whose shares hold VMs of a Hyper-V cluster in the campaign goes in an earlier wave than that cluster
(found from the VMs' storage paths), so the two are never remediated at the same time; within a
wave at most `parallel` clusters run at once. Each cluster is a swimlane of the parent, so the
failure policy's "failed nodes" counts failed clusters: past `max_failed_clusters` no new cluster
starts.
"""
from compliance.campaigns.planning import (
    REMEDIATE,
    UPGRADE,
    CampaignError,
    Wave,
    dependencies,
    plan_waves,
    submit_campaign,
)
from compliance.campaigns.upgrade import UpgradeChoice

__all__ = ["REMEDIATE", "UPGRADE", "CampaignError", "UpgradeChoice", "Wave", "dependencies", "plan_waves",
           "submit_campaign"]
