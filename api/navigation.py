"""This app's menu entries: (section, label, url name, role needed to see it)."""
MENU = [
    ("Settings", "API tokens", "api:token_list", "viewer"),
]
