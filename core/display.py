"""How every page shows a moment in time and a yes/no, so that there is one way of each.

A moment is a `<time>` element carrying the instant in UTC (ISO 8601); the server writes it in UTC
with the zone named, and `static/ferry/time.js` rewrites it to the browser's local time and zone.
Its `title` (shown on hover) is always the exact time, also for relative times ("8 minutes ago").
"""
from datetime import date, datetime
from datetime import timezone as dt_timezone

from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

# style → strftime of the visible text (relative times show "… ago" instead)
STYLES = {
    "datetime": "%Y-%m-%d %H:%M UTC",
    "seconds": "%Y-%m-%d %H:%M:%S UTC",
    "time": "%H:%M:%S",
    "relative": None,
    "moment": None,  # "time" within 12 hours of now, else "datetime" (a deadline days away shows its date)
}
EXACT = "%Y-%m-%d %H:%M:%S UTC"


def when(value, style: str = "datetime", empty: str = "—"):
    """A datetime as a `<time>` element; a date as its ISO date; None or "" as `empty`."""
    if value in (None, ""):
        return empty
    if not isinstance(value, datetime):
        return value.isoformat() if isinstance(value, date) else value
    if style not in STYLES:
        raise ValueError(f"Unknown time style {style!r}; one of {', '.join(STYLES)}.")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt_timezone.utc)
    utc = value.astimezone(dt_timezone.utc)
    if style == "moment":
        style = "time" if abs((utc - timezone.now()).total_seconds()) < 12 * 3600 else "datetime"
    if style == "relative":
        text = f"{timesince(utc)} ago" if utc <= timezone.now() else f"in {timesince(timezone.now(), utc)}"
    else:
        text = utc.strftime(STYLES[style])
    return format_html(
        '<time datetime="{}" data-style="{}" title="{}">{}</time>',
        utc.isoformat().replace("+00:00", "Z"), style, utc.strftime(EXACT), text,
    )


def iso_utc(value) -> str:
    """A datetime for exports: ISO 8601 in UTC."""
    if not isinstance(value, datetime):
        return value.isoformat() if isinstance(value, date) else ("" if value is None else str(value))
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt_timezone.utc)
    return value.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z")


def yes_no(value, empty: str = "—"):
    """True → "Yes", False → "No" as text (never a glyph alone); None → `empty`."""
    if value is None or value == "":
        return empty
    word = "Yes" if value else "No"
    return format_html('<span class="yes-no {}">{}</span>', word.lower(), word)
