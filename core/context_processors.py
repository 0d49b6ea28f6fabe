from importlib import import_module

from django.apps import apps
from django.urls import NoReverseMatch, reverse

from core.roles import has_role

SECTION_ORDER = ["Fabric", "Library", "Networking", "Compliance", "Upgrades", "Jobs", "Settings"]


def _menu_entries():
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.navigation")
        except ModuleNotFoundError:
            continue
        yield from module.MENU


def navigation(request):
    """Collect every app's navigation.py into sections the user may see."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    sections: dict[str, list[dict]] = {}
    for section, label, url_name, role in _menu_entries():
        if not has_role(user, role):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        sections.setdefault(section, []).append(
            {"label": label, "url": url, "active": request.path.startswith(url)}
        )
    ordered = sorted(sections.items(), key=lambda kv: SECTION_ORDER.index(kv[0]) if kv[0] in SECTION_ORDER else 99)
    return {
        "nav_sections": ordered,
        "user_is_operator": has_role(user, "operator"),
        "user_is_administrator": has_role(user, "administrator"),
    }
