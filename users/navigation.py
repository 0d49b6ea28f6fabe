"""Users' menu entries (see core.navigation)."""
from core.navigation import MenuItem, Section
from core.roles import ADMINISTRATOR

menu = (
    Section("Settings", weight=900, items=(
        MenuItem("Users and roles", "users:user_list", role=ADMINISTRATOR, weight=50, views=("users:*",)),
    )),
)
