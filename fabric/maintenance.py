"""When work may start on a host: its maintenance windows (own, else its cluster's, else the nearest
host group's), whether one is open now and when the next one opens."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fabric import clock
from fabric.models import Cluster, Host, HostGroup, MaintenanceWindow
from fabric.nodeops.live import poll_seconds
from jobs import signals
from jobs.eta import WINDOW_WAIT


@dataclass(frozen=True)
class Windows:
    windows: tuple[MaintenanceWindow, ...]
    source: str  # "host HV01", "cluster HVC19", "host group All Hosts › Berlin", "" when none is set

    @property
    def unrestricted(self) -> bool:
        return not self.windows

    def is_open(self, when: datetime) -> bool:
        return self.unrestricted or any(_open_span(w, when) for w in self.windows)

    def next_opening(self, when: datetime) -> datetime | None:
        """The earliest moment at or after `when` at which a window is open (`when` if one is)."""
        if self.is_open(when):
            return when
        starts = [_next_start(w, when) for w in self.windows]
        return min(starts) if starts else None

    def closes_at(self, when: datetime) -> datetime | None:
        """When the window open at `when` closes (the latest end among open ones)."""
        ends = [span[1] for w in self.windows if (span := _open_span(w, when))]
        return max(ends) if ends else None


def _spans_around(window: MaintenanceWindow, when: datetime):
    """The window's occurrences (start, end) in its time zone near `when` (last week to next week)."""
    zone = ZoneInfo(window.time_zone)
    local = when.astimezone(zone)
    monday = (local - timedelta(days=local.weekday())).date()
    for week in (-1, 0, 1):
        day = monday + timedelta(days=window.weekday + 7 * week)
        start = datetime.combine(day, window.start, tzinfo=zone)
        end_day = day if window.end > window.start else day + timedelta(days=1)
        end = datetime.combine(end_day, window.end, tzinfo=zone)
        yield start, end


def _open_span(window: MaintenanceWindow, when: datetime):
    for start, end in _spans_around(window, when):
        if start <= when < end:
            return start, end
    return None


def _next_start(window: MaintenanceWindow, when: datetime) -> datetime:
    return min(start for start, _ in _spans_around(window, when) if start > when)


def _of(**scope) -> tuple[MaintenanceWindow, ...]:
    return tuple(MaintenanceWindow.objects.filter(**scope))


def for_group(group: HostGroup | None) -> Windows:
    while group is not None:
        found = _of(host_group=group)
        if found:
            return Windows(found, f"host group {group.path()}")
        group = group.parent
    return Windows((), "")


def for_cluster(cluster: Cluster) -> Windows:
    found = _of(cluster=cluster)
    return Windows(found, f"cluster {cluster.name}") if found else for_group(cluster.host_group)


def for_host(host: Host) -> Windows:
    found = _of(host=host)
    if found:
        return Windows(found, f"host {host.name}")
    if host.cluster_id:
        return for_cluster(host.cluster)
    return for_group(host.host_group)


def describe_moment(when: datetime, like: MaintenanceWindow | None = None) -> str:
    """“Sat 02:00” in the window's own time zone."""
    zone = ZoneInfo(like.time_zone) if like else None
    local = when.astimezone(zone) if zone else when
    return f"{local:%a %H:%M}"


def opens_at(windows: Windows, when: datetime) -> str:
    """“Sat 02:00”: when the next window opens, in that window's own time zone ('' when one is open)."""
    opening = windows.next_opening(when)
    if opening is None or opening == when:
        return ""
    first = next(w for w in windows.windows if _next_start(w, when) == opening)
    return describe_moment(opening, first)


def pause_reason(windows: Windows, when: datetime) -> str:
    """'paused until Sat 02:00 (maintenance window)' or '' when a window is open."""
    moment = opens_at(windows, when)
    return f"paused until {moment} (maintenance window)" if moment else ""


def wait_for_window(ctx, host: Host) -> None:
    """A job step's safe point before a node leaves: if the host's window is closed, wait (keeping
    the job's lease, cancellable) until one opens. The step shows 'Paused until Sat 02:00
    (maintenance window)'."""
    windows = for_host(host)
    if windows.is_open(clock.now()):
        return
    reason = pause_reason(windows, clock.now())
    ctx.log(f"{host.name}: {reason}, set on {windows.source}.")
    ctx.progress(0, reason[:1].upper() + reason[1:])
    if ctx.step.data.get("attention") != reason:  # once per pause, not again each time the step resumes
        ctx.save_checkpoint(attention=reason)
        signals.needs_attention(ctx.job, f"{host.name}: {reason}, set on {windows.source}.")
    poll = max(0.05, min(poll_seconds(), clock.real_seconds(60)))  # the check itself asks no machine
    ctx.wait_until(lambda: windows.is_open(clock.now()), clock.real_seconds(8 * 86400), poll,
                   waiting_for=f"{WINDOW_WAIT} to open ({opens_at(windows, clock.now())})")
    ctx.log(f"The maintenance window of {host.name} is open ({describe_moment(clock.now(), windows.windows[0])}).")
