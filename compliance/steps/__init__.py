"""The compliance orchestrations' steps (registered with the job engine when imported)."""
from compliance.steps import campaign, catalog, remediate, scan  # noqa: F401
