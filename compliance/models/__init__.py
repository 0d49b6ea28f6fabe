from .baselines import Baseline, BaselineAssignment, BaselineUpdate, Exemption
from .servers import Update, UpdateServer
from .status import BaselineCompliance, HostCompliance, UpdateStatus

__all__ = [
    "Baseline",
    "BaselineAssignment",
    "BaselineCompliance",
    "BaselineUpdate",
    "Exemption",
    "HostCompliance",
    "Update",
    "UpdateServer",
    "UpdateStatus",
]
