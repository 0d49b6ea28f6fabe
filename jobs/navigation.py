"""The Jobs menu entry (see core.navigation)."""
from core.navigation import MenuItem, Section

menu = (
    Section("Jobs", weight=600, items=(
        MenuItem("Jobs", "jobs:job_list", weight=100, views=("jobs:*",)),
    )),
)
