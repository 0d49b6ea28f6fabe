"""`upgrade_cluster A B C --profile P --bmc-run-as R --parallel N`: several clusters upgraded as one
campaign, file servers before the Hyper-V clusters whose VMs they hold."""
from django.core.management.base import CommandError

from compliance.campaigns import CampaignError, UpgradeChoice, plan_waves, submit_campaign
from compliance.campaigns.upgrade import dry_run
from compliance.management.commands._common import finish, follow, resolve_target
from core.audit import AuditAction, record
from fabric.models import HostGroup, PhysicalComputerProfile, RunAsAccount


def _named(model, name: str, what: str):
    found = model.objects.filter(name__iexact=name.strip()).first()
    if found is None:
        raise CommandError(f"No {what} is named {name!r}.")
    return found


def upgrade_campaign_command(command, names: list[str], o) -> None:
    for option, flag in (("image", "--image"), ("nodes", "--nodes"), ("node_settings", "--node-settings")):
        if o[option]:
            raise CommandError(f"{flag} applies to one cluster; a campaign upgrades every node of each cluster "
                               f"with the settings Ferry knows (use the Upgrade Cluster wizard for a cluster that "
                               f"needs more).")
    targets = [resolve_target(n) for n in names]
    groups = [str(t) for t in targets if isinstance(t, HostGroup)]
    if groups:
        raise CommandError(f"Name clusters, not host groups: {', '.join(groups)}.")
    parallel = 2 if o["parallel"] is None else o["parallel"]
    if parallel < 1:
        raise CommandError("--parallel must be at least 1.")
    if o["max_failed"] < 0:
        raise CommandError("--max-failed must be ≥ 0.")
    profile = _named(PhysicalComputerProfile, o["profile"], "physical computer profile")
    file_server_profile = (_named(PhysicalComputerProfile, o["file_server_profile"], "physical computer profile")
                           if o["file_server_profile"] else None)
    bmc = _named(RunAsAccount, o["bmc_run_as"], "Run As account")
    choice = UpgradeChoice(profile_id=profile.pk, bmc_run_as_id=bmc.pk,
                           file_server_profile_id=file_server_profile.pk if file_server_profile else None,
                           functional_level=not o["no_functional_level"], pre_script=o["pre_script"].strip(),
                           post_script=o["post_script"].strip())
    try:
        waves = plan_waves(targets)
    except CampaignError as error:
        raise CommandError(str(error)) from None
    write = command.stdout.write
    write(f"Campaign plan (upgrade: {choice.describe()}; at most {parallel} clusters at once):")
    for wave in waves:
        write(f"  wave {wave.number}: {', '.join(wave.names)}")
    if o["dry_run"]:
        return _dry_run(command, [t for w in waves for t in w.members], choice)
    try:
        job, _ = submit_campaign(targets, upgrade=choice, parallel=parallel, max_failed_clusters=o["max_failed"])
    except CampaignError as error:
        raise CommandError("Refused: " + str(error)) from None
    record(None, AuditAction.ACTION, job, f"campaign requested: {job.title} (at most {parallel} at once; "
                                          f"{choice.describe()})")
    write(f"Started: job #{job.pk} {job.title}")
    if o["wait"]:
        finish(command, follow(job, write))


def _dry_run(command, targets, choice: UpgradeChoice) -> None:
    """Each cluster's prerequisites and node plan, in wave order; non-zero when a submit would be refused."""
    problems = []
    for answer in dry_run(targets, choice):
        if answer.plan is None:
            command.stdout.write(f"{answer.target.name}: REFUSED: {' '.join(answer.problems)}")
        else:
            command.print_plan(answer.plan)
        problems += answer.problems
    if problems:
        raise CommandError("The campaign would be refused: see the clusters above.")
    command.stdout.write("Dry run: nothing was started.")
