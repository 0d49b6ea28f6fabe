"""The upgrade jobs' steps (registered with the job engine when imported)."""
from upgrades.steps import failure, functional_level, node, provision, rolling, scripts  # noqa: F401
