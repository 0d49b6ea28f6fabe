"""This app's menu entries: (section, label, url name, role needed to see it)."""
MENU = [
    ("Settings", "Notifications", "notifications:subscription_list", "viewer"),
    ("Settings", "Notification deliveries", "notifications:delivery_list", "viewer"),
]
