from .baselines import (
    AssignmentDeleteView,
    AssignView,
    BaselineCreateView,
    BaselineDeleteView,
    BaselineDetailView,
    BaselineEditView,
    BaselineListView,
)
from .catalog import SyncView, UpdateListView, UpdateServerListView
from .compliance import ComplianceView, ExemptionDeleteView, ExemptView, HostComplianceView, ScanView
from .remediate import RemediateView

__all__ = [
    "AssignView",
    "AssignmentDeleteView",
    "BaselineCreateView",
    "BaselineDeleteView",
    "BaselineDetailView",
    "BaselineEditView",
    "BaselineListView",
    "ComplianceView",
    "ExemptView",
    "ExemptionDeleteView",
    "HostComplianceView",
    "RemediateView",
    "ScanView",
    "SyncView",
    "UpdateListView",
    "UpdateServerListView",
]
