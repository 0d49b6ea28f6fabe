"""This app's menu entries: (section, label, url name, role needed to see it)."""
MENU = [
    ("Jobs", "Jobs", "jobs:job_list", "viewer"),
]
