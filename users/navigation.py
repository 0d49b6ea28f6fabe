"""This app's menu entries: (section, label, url name, role needed to see it)."""
MENU = [
    ("Settings", "Users and roles", "users:user_list", "administrator"),
]
