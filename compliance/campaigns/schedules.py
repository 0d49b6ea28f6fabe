"""Scheduled campaigns: django-q2 schedules that start a campaign when they fire.

"When" is either a moment ("2026-12-12 02:00") or a monthly rule ("second Saturday 02:00"), in a
time zone. A schedule is one django-q2 ONCE row; a monthly one, when it fires, adds the row of its
next occurrence, so the list always shows the next run.
"""
from __future__ import annotations

import ast
import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django_q.models import Schedule

from compliance.campaigns.planning import CampaignError, submit_campaign
from compliance.remediation import RemediationOptions
from fabric import clock
from fabric.models import Cluster

RUN = "compliance.campaigns.schedules.run_scheduled"
ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "last": -1}
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_RULE = re.compile(r"^\s*(?P<nth>\w+)\s+(?P<day>[a-z]{3})[a-z]*\s+(?P<h>\d{1,2}):(?P<m>\d{2})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class When:
    once: datetime | None = None            # aware
    nth: int = 0                            # 1..4 or -1 (last)
    weekday: int = 0                        # Monday 0
    at: time | None = None
    time_zone: str = "UTC"

    def describe(self) -> str:
        if self.once:
            return f"once, {self.once.astimezone(ZoneInfo(self.time_zone)):%a %Y-%m-%d %H:%M} {self.time_zone}"
        nth = {v: k for k, v in ORDINALS.items() if not k[0].isdigit()}[self.nth]
        return f"every {nth} {calendar.day_name[self.weekday]} of the month at {self.at:%H:%M} {self.time_zone}"

    def as_params(self) -> dict:
        if self.once:
            return {"once": self.once.isoformat(), "time_zone": self.time_zone}
        return {"nth": self.nth, "weekday": self.weekday, "at": f"{self.at:%H:%M}", "time_zone": self.time_zone}

    @classmethod
    def from_params(cls, p: dict) -> When:
        if p.get("once"):
            return cls(once=datetime.fromisoformat(p["once"]), time_zone=p["time_zone"])
        return cls(nth=p["nth"], weekday=p["weekday"], at=time.fromisoformat(p["at"]), time_zone=p["time_zone"])

    def next_run(self, after: datetime) -> datetime | None:
        if self.once:
            return self.once if self.once > after else None
        zone = ZoneInfo(self.time_zone)
        local = after.astimezone(zone)
        month = date(local.year, local.month, 1)
        for _ in range(3):
            day = _nth_weekday(month, self.nth, self.weekday)
            moment = datetime.combine(day, self.at, tzinfo=zone)
            if moment > after:
                return moment
            month = (month + timedelta(days=32)).replace(day=1)
        return None


def _nth_weekday(month: date, nth: int, weekday: int) -> date:
    if nth == -1:
        last = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = month + timedelta(days=(weekday - month.weekday()) % 7)
    return first + timedelta(weeks=nth - 1)


def parse_when(text: str, time_zone: str = "UTC") -> When:
    """'2026-12-12 02:00' or 'second Saturday 02:00'; ValueError with the reason otherwise."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"“{time_zone}” is not a time zone name such as Europe/Berlin or UTC.") from None
    text = (text or "").strip()
    rule = _RULE.match(text)
    if rule:
        nth, day = rule["nth"].lower(), rule["day"].lower()
        hour, minute = int(rule["h"]), int(rule["m"])
        if nth not in ORDINALS or day not in DAYS or hour > 23 or minute > 59:
            raise ValueError(f"“{text}”: say e.g. “second Saturday 02:00” (first…fourth or last, a weekday, HH:MM).")
        return When(nth=ORDINALS[nth], weekday=DAYS.index(day), at=time(hour, minute), time_zone=time_zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"“{text}” is neither a date and time (2026-12-12 02:00) nor a monthly rule "
                         f"(second Saturday 02:00).") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if moment <= clock.now():
        raise ValueError(f"{moment:%Y-%m-%d %H:%M} has already passed.")
    return When(once=moment, time_zone=time_zone)


def schedule_campaign(clusters, when: When, options: RemediationOptions | None = None, *, parallel: int = 2,
                      max_failed_clusters: int = 0, user=None) -> Schedule:
    """Save a django-q2 schedule that starts this campaign at `when`."""
    clusters = list(clusters)
    if not clusters:
        raise CampaignError("A campaign needs at least one cluster.")
    if parallel < 1:
        raise CampaignError("At most N clusters at once: N must be at least 1.")
    first = when.next_run(clock.now())
    if first is None:
        raise CampaignError("That moment has already passed.")
    kwargs = {"cluster_ids": [c.pk for c in clusters], "options": (options or RemediationOptions()).as_params(),
              "parallel": parallel, "max_failed_clusters": max_failed_clusters, "when": when.as_params(),
              "requested_by": user.pk if getattr(user, "is_authenticated", False) else None}
    return _save(clusters, when, first, kwargs)


def _save(clusters, when: When, next_run: datetime, kwargs: dict) -> Schedule:
    names = ", ".join(c.name for c in clusters)
    return Schedule.objects.create(
        # django-q2 reads kwargs with ast.literal_eval: a dict of plain values, written as Python
        name=f"Campaign: remediate {names} ({when.describe()})"[:100], func=RUN, kwargs=repr(kwargs),
        schedule_type=Schedule.ONCE, repeats=-1, next_run=next_run,
    )


def scheduled_campaigns():
    return Schedule.objects.filter(func=RUN).order_by("next_run")


def describe(schedule: Schedule) -> dict:
    try:
        kwargs = ast.literal_eval(schedule.kwargs or "{}")
    except (ValueError, SyntaxError):
        kwargs = {}
    names = list(Cluster.objects.filter(pk__in=kwargs.get("cluster_ids", [])).values_list("name", flat=True))
    when = When.from_params(kwargs["when"]) if kwargs.get("when") else None
    return {"schedule": schedule, "clusters": names, "when": when.describe() if when else "",
            "parallel": kwargs.get("parallel"), "next_run": schedule.next_run}


def run_scheduled(*, cluster_ids, options, parallel, max_failed_clusters, when, requested_by=None):
    """What a schedule runs: start the campaign (audited as the system on behalf of the requester),
    and for a monthly rule save the next occurrence."""
    from django.contrib.auth import get_user_model

    from core.audit import AuditAction, record

    user = get_user_model().objects.filter(pk=requested_by).first() if requested_by else None
    clusters = list(Cluster.objects.filter(pk__in=cluster_ids))
    rule = When.from_params(when)
    if not rule.once:
        following = rule.next_run(clock.now() + timedelta(minutes=1))
        if following:
            _save(clusters, rule, following, {
                "cluster_ids": cluster_ids, "options": options, "parallel": parallel,
                "max_failed_clusters": max_failed_clusters, "when": when, "requested_by": requested_by})
    try:
        job, _ = submit_campaign(clusters, RemediationOptions.from_params(options), parallel=parallel,
                                 max_failed_clusters=max_failed_clusters, user=user)
    except CampaignError as error:
        record(None, AuditAction.ACTION, None, f"scheduled campaign refused: {error}",
               object_type="scheduled campaign", object_repr=", ".join(c.name for c in clusters))
        return f"refused: {error}"
    record(None, AuditAction.ACTION, job, f"scheduled campaign started: {job.title}")
    return f"started job #{job.pk}"
