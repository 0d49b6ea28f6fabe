"""The node script library: PowerShell scripts a remediation runs on each node before it is paused
(pre-script) and after it is resumed (post-script), like Cluster-Aware Updating's PreUpdateScript
and PostUpdateScript."""
