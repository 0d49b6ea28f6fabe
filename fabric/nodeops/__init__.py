"""Node operations both the remediation and the upgrade jobs use: read a cluster's live state,
plan where every workload goes (planner), pause, evacuate, resume and bring the workloads back.

- `planner`: pure functions over plain data (the evacuation plan, quorum).
- `live`: connections to nodes and the cluster's live state as the cluster reports it.
- `inventory`: the planner's inputs from the database inventory (dialogs, wizards, dry runs).
- `scheduler`: runs live migrations at once within every host's migration limit.
- `nodes`: the cluster-level part of taking a node out and back (pause, resume), any kind.
- `records`: the small typed records steps hand to each other through the job step's data.
- `workloads`: what runs on a node and how it leaves and comes back, one module per cluster kind
  (`hyperv`: VMs; `sofs`: SOFS roles and cluster shared volumes).
- `storage`: waiting for healthy storage (S2D resync done) before the next node leaves.

Step functions belong to the apps (compliance, upgrades); everything here is called from them.
"""
