"""The API's menu entries (see core.navigation)."""
from core.navigation import MenuItem, Section

menu = (
    Section("Settings", weight=900, items=(
        MenuItem("API tokens", "api:token_list", weight=300, views=("api:token_*",)),
    )),
)
