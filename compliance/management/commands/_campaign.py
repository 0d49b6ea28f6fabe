"""`remediate A B C --parallel N`: several clusters as one campaign."""
from django.core.management.base import CommandError

from compliance.campaigns import CampaignError, plan_waves, submit_campaign
from compliance.management.commands._common import finish, follow
from core.audit import AuditAction, record
from fabric.models import Cluster, Host


def campaign_command(command, targets, options, o) -> None:
    not_clusters = [str(t) for t in targets if not isinstance(t, (Cluster, Host))]
    if not_clusters:
        raise CommandError(f"A campaign remediates clusters and standalone hosts; not a cluster or host: "
                           f"{', '.join(not_clusters)}.")
    parallel = 2 if o["parallel"] is None else o["parallel"]
    if parallel < 1:
        raise CommandError("--parallel must be at least 1.")
    if o["max_failed_clusters"] < 0:
        raise CommandError("--max-failed-clusters must be ≥ 0.")
    if o["order"]:
        raise CommandError("--order names the nodes of one cluster; it does not apply to a campaign.")
    try:
        waves = plan_waves(targets)
    except CampaignError as error:
        raise CommandError(str(error)) from None
    command.stdout.write(f"Campaign plan ({options.describe()}; at most {parallel} clusters at once):")
    for wave in waves:
        command.stdout.write(f"  wave {wave.number}: {', '.join(wave.names)}")
    if o["dry_run"]:
        command.stdout.write("Dry run: nothing was started.")
        return
    if o["at"]:
        return _schedule(command, targets, options, parallel, o)
    try:
        job, _ = submit_campaign(targets, options, parallel=parallel, max_failed_clusters=o["max_failed_clusters"])
    except CampaignError as error:
        raise CommandError("Refused: " + str(error)) from None
    record(None, AuditAction.ACTION, job, f"campaign requested: {job.title} (at most {parallel} at once; "
                                          f"{options.describe()})")
    command.stdout.write(f"Started: job #{job.pk} {job.title}")
    if o["wait"]:
        finish(command, follow(job, command.stdout.write))


def _schedule(command, targets, options, parallel, o) -> None:
    from compliance.campaigns.schedules import parse_when, schedule_campaign

    if o["wait"]:
        raise CommandError("--wait follows a job that starts now; it does not go with --at.")
    try:
        when = parse_when(o["at"], o["time_zone"])
        schedule = schedule_campaign(targets, when, options, parallel=parallel,
                                     max_failed_clusters=o["max_failed_clusters"])
    except (ValueError, CampaignError) as error:
        raise CommandError(str(error)) from None
    record(None, AuditAction.CREATE, schedule, f"scheduled: {schedule.name}", object_type="scheduled campaign",
           object_repr=schedule.name)
    command.stdout.write(f"Scheduled: {schedule.name}; next run {schedule.next_run:%a %Y-%m-%d %H:%M %Z}.")
