"""The rolling remediation: a cluster node by node (or chosen hosts one by one).

Plan per node (one swimlane each): prepare → check → evacuate → install → restart → resume → return
VMs → verify. The first step of the job scans every node and proves the plan fits; each node's check
decides, from the real state, whether the node needs anything (a compliant node is skipped
without being drained) and later steps of a skipped node skip too. A node's prepare step (the
Windows Update scan and the download) runs while its VMs still run: the first node's before its
check, every other node's together with the previous node's restart.
"""
from compliance.steps.remediate import after, before, evacuation, updates  # noqa: F401  (registers the steps)
from compliance.steps.remediate.common import _evacuated, _node, only_if_needed  # noqa: F401  (node scripts use them)
from compliance.steps.remediate.names import (  # noqa: F401  (the step names: compliance.orchestration uses them)
    CHECK,
    EVACUATE,
    EVACUATIONS,
    FINISH,
    INSTALL,
    PRECHECK,
    PREPARE,
    RESTART,
    RESUME,
    RETURN_VMS,
    RETURNS,
    SAVE_VMS,
    SAVE_VMS_AND_PAUSE,
    SCAN_PARALLEL,
    START_SAVED,
    VERIFY,
)
