"""The node script library's menu entry (see core.navigation)."""
from core.navigation import MenuItem, Section
from core.roles import ADMINISTRATOR

menu = (
    Section("Library", weight=200, items=(
        MenuItem("Node scripts", "nodescripts:script_list", role=ADMINISTRATOR, weight=400,
                 views=("nodescripts:*",)),
    )),
)
