"""The compliance orchestrations' steps (registered with the job engine when imported)."""
from compliance.steps import catalog, failure, remediate, scan, scripts  # noqa: F401
