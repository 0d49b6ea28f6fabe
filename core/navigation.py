"""The navigation registry: every app's `navigation.py` declares its `menu`, a tuple of Sections.

Sections of the same name from several apps are one section. Sections and entries are ordered
by weight (lighter first); an entry shows only to users with its role. Exactly one entry is
highlighted for any page: the entry that claims the page's view by name (`views`, shell-style
patterns such as "fabric:subnet_*"), else the entry whose address is the longest prefix of the
page's. The highlighted entry also starts the page's breadcrumbs (its section, then itself);
pages add their own crumbs after it in `{% block breadcrumbs %}`.
"""
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cache
from importlib import import_module

from django.apps import apps
from django.urls import NoReverseMatch, reverse

from core.roles import ADMINISTRATOR, OPERATOR, ROLES, VIEWER, has_role


@dataclass(frozen=True)
class MenuItem:
    label: str
    url_name: str
    role: str = VIEWER
    weight: int = 100
    views: tuple[str, ...] = ()  # view names (patterns) whose pages belong to this entry

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"menu entry {self.label!r}: unknown role {self.role!r}")

    def claims(self, view_name: str) -> bool:
        return bool(view_name) and any(fnmatchcase(view_name, pattern) for pattern in self.views)


@dataclass(frozen=True)
class Section:
    name: str
    weight: int = 100
    items: tuple[MenuItem, ...] = field(default_factory=tuple)


@cache
def registry() -> tuple[Section, ...]:
    """Every installed app's sections, merged by name and ordered by weight."""
    merged: dict[str, tuple[int, list[MenuItem]]] = {}
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.navigation")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.navigation":
                raise  # the app has a navigation module and it is broken: say so
            continue
        for section in getattr(module, "menu", ()):
            weight, items = merged.setdefault(section.name, (section.weight, []))
            merged[section.name] = (min(weight, section.weight), items + list(section.items))
    sections = [
        Section(name, weight, tuple(sorted(items, key=lambda item: item.weight)))
        for name, (weight, items) in merged.items()
    ]
    return tuple(sorted(sections, key=lambda section: section.weight))


def _url(item: MenuItem) -> str | None:
    try:
        return reverse(item.url_name)
    except NoReverseMatch:
        return None


def highlighted(entries: list[tuple[Section, MenuItem, str]], path: str, view_name: str):
    """The one (section, item, url) a page belongs to, or None."""
    for entry in entries:
        if entry[1].claims(view_name):
            return entry
    prefixes = [entry for entry in entries if path.startswith(entry[2])]
    return max(prefixes, key=lambda entry: len(entry[2]), default=None)


def navigation(request):
    """Context processor: the sections the user may see, the highlighted entry, the first crumbs."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    visible = [
        (section, item, url)
        for section in registry()
        for item in section.items
        if has_role(user, item.role) and (url := _url(item)) is not None
    ]
    match = getattr(request, "resolver_match", None)
    current = highlighted(visible, request.path, match.view_name if match else "")
    sections: dict[str, list[dict]] = {}
    for section, item, url in visible:
        sections.setdefault(section.name, []).append(
            {"label": item.label, "url": url, "active": (section, item, url) == current}
        )
    trail = []
    if current is not None:
        section, item, url = current
        trail = [{"label": item.label, "url": url}]
        if section.name != item.label:
            trail.insert(0, {"label": section.name, "url": ""})
    return {
        "nav_sections": list(sections.items()),
        "nav_trail": trail,
        "user_is_operator": has_role(user, OPERATOR),
        "user_is_administrator": has_role(user, ADMINISTRATOR),
    }
