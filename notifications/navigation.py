"""Notifications' menu entries (see core.navigation)."""
from core.navigation import MenuItem, Section

menu = (
    Section("Settings", weight=900, items=(
        MenuItem("Notifications", "notifications:subscription_list", weight=400, 
                 views=("notifications:subscription_*",)),
        MenuItem("Notification deliveries", "notifications:delivery_list", weight=500,
                 views=("notifications:delivery_*",)),
    )),
)
