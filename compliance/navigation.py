"""The compliance menu entries (see core.navigation)."""
from core.navigation import MenuItem, Section

menu = (
    Section("Compliance", weight=400, items=(
        MenuItem("Compliance", "compliance:compliance", weight=100, views=("compliance:host_compliance",)),
        MenuItem("Baselines", "compliance:baseline_list", weight=200, views=("compliance:baseline_*",)),
        MenuItem("Updates", "compliance:update_list", weight=300),
        MenuItem("Update servers", "compliance:updateserver_list", weight=400, views=("compliance:updateserver_*",)),
        MenuItem("Scheduled campaigns", "compliance:schedule_list", weight=500, views=("compliance:schedule_*",)),
    )),
)
