"""This app's menu entries: (section, label, url name, role needed to see it)."""
MENU = [
    ("Compliance", "Compliance", "compliance:compliance", "viewer"),
    ("Compliance", "Baselines", "compliance:baseline_list", "viewer"),
    ("Compliance", "Updates", "compliance:update_list", "viewer"),
    ("Compliance", "Update servers", "compliance:updateserver_list", "viewer"),
    ("Compliance", "Scheduled campaigns", "compliance:schedule_list", "viewer"),
]
