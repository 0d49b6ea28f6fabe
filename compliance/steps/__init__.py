"""The compliance orchestrations' steps (registered with the job engine when imported)."""
from compliance.steps import campaign, catalog, failure, remediate, scan, scripts  # noqa: F401
