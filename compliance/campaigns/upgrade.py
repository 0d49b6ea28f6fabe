"""An upgrade campaign's part: what it asks of every cluster (`UpgradeChoice`), and each cluster's
rolling-upgrade request, built when the campaign is submitted from what Ferry knows of its nodes
(`default_node_settings`). A cluster Ferry lacks a setting for, or whose prerequisites fail, refuses
the whole campaign: its wizard asks for what is missing."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from fabric.choices import ClusterKind
from fabric.models import Cluster, Host, PhysicalComputerProfile, RunAsAccount
from upgrades.request import UpgradePlan, UpgradeRequest
from upgrades.rolling import check_prerequisites, default_node_settings, missing_settings, plan_upgrade

UPGRADABLE = (ClusterKind.HYPERV, ClusterKind.SOFS)


@dataclass
class UpgradeChoice:
    """One profile for the Hyper-V clusters and one for the file servers (the same one unless
    chosen: a file server's profile usually places it in another host group), the BMC Run As
    account every node's BMC accepts, whether each cluster's functional level rises after its last
    node, and the library's pre- and post-script run on every node ("" for none; each cluster's job
    takes its copy of them when it starts, as a remediation campaign's do)."""
    profile_id: int
    bmc_run_as_id: int
    file_server_profile_id: int | None = None
    functional_level: bool = True
    pre_script: str = ""
    post_script: str = ""

    def profile_id_for(self, cluster: Cluster) -> int:
        if cluster.kind == ClusterKind.SOFS and self.file_server_profile_id:
            return self.file_server_profile_id
        return self.profile_id

    def as_params(self) -> dict:
        return asdict(self)

    @classmethod
    def from_params(cls, data: dict) -> "UpgradeChoice":
        return cls(**data)

    def describe(self) -> str:
        names = dict(PhysicalComputerProfile.objects.filter(
            pk__in=[self.profile_id, self.file_server_profile_id]).values_list("pk", "name"))
        bmc = RunAsAccount.objects.filter(pk=self.bmc_run_as_id).values_list("name", flat=True).first()
        profiles = f"profile {names.get(self.profile_id, '?')}"
        if self.file_server_profile_id and self.file_server_profile_id != self.profile_id:
            profiles += f", file servers {names.get(self.file_server_profile_id, '?')}"
        level = "functional level raised" if self.functional_level else "functional level left as it is"
        scripts = "".join(f"; {what} {name}" for what, name in (("pre-script", self.pre_script),
                                                                ("post-script", self.post_script)) if name)
        return f"{profiles}; BMC Run As {bmc or '?'}; {level}{scripts}"


def request_for(cluster: Cluster, choice: UpgradeChoice) -> UpgradeRequest:
    """The rolling upgrade of every node of `cluster`, with the settings Ferry knows for each."""
    profile = PhysicalComputerProfile.objects.get(pk=choice.profile_id_for(cluster))
    return UpgradeRequest(cluster_id=cluster.pk, profile_id=profile.pk, bmc_run_as_id=choice.bmc_run_as_id,
                          image_id=None, nodes=default_node_settings(cluster, profile),
                          functional_level=choice.functional_level, pre_script=choice.pre_script,
                          post_script=choice.post_script)


def missing_problem(cluster: Cluster, profile: PhysicalComputerProfile) -> str:
    """What Ferry could not work out for the nodes of `cluster`, in an operator's words; empty when nothing."""
    missing = missing_settings(cluster, profile)
    if not missing:
        return ""
    names = dict(Host.objects.filter(pk__in=missing).values_list("pk", "name"))
    nodes = "; ".join(f"{names[pk]}: missing {', '.join(keys)}" for pk, keys in sorted(
        missing.items(), key=lambda item: names[item[0]].lower()))
    return (f"{cluster.name}: Ferry could not work out every node's settings ({nodes}). "
            f"Use the Upgrade Cluster wizard for it.")


def _choice_problem(choice: UpgradeChoice, profiles: dict) -> str:
    if choice.profile_id not in profiles or (choice.file_server_profile_id and
                                             choice.file_server_profile_id not in profiles):
        return "The physical computer profile no longer exists."
    if not RunAsAccount.objects.filter(pk=choice.bmc_run_as_id).exists():
        return "The BMC Run As account no longer exists."
    return ""


def _refusal(target, choice: UpgradeChoice, profiles: dict) -> str:
    """Why `target` cannot be part of an upgrade campaign before its prerequisites are asked; empty when it can."""
    if isinstance(target, Host):
        if target.cluster_id:
            return f"{target.name} is a node of {target.cluster.name}: put the cluster in the campaign."
        return (f"{target.name} is a standalone host: a rolling upgrade re-images the nodes of a cluster one by "
                f"one while their VMs run on the other nodes; a standalone host has none to move them to.")
    if target.kind not in UPGRADABLE:
        return f"{target.name} is not a Hyper-V cluster or a Scale-Out File Server."
    return missing_problem(target, profiles[choice.profile_id_for(target)])


def _profiles(choice: UpgradeChoice) -> dict:
    return {p.pk: p for p in PhysicalComputerProfile.objects.filter(
        pk__in=[choice.profile_id, choice.file_server_profile_id])}


def upgrade_problems(targets, choice: UpgradeChoice, *, prerequisites: bool = True) -> tuple[dict, list[str]]:
    """({cluster id: its request}, problems): a problem names its cluster and what stops it."""
    profiles = _profiles(choice)
    problem = _choice_problem(choice, profiles)
    if problem:
        return {}, [problem]
    requests, problems = {}, []
    for target in targets:
        refusal = _refusal(target, choice, profiles)
        if refusal:
            problems.append(refusal)
            continue
        requests[target.pk] = request = request_for(target, choice)
        if prerequisites:
            problems += [f"{target.name}: {v.message}" for v in check_prerequisites(request) if not v.ok]
    return requests, problems


@dataclass
class TargetDryRun:
    """One cluster of an upgrade campaign's dry run: its plan (with the prerequisites' verdicts), or
    only why it cannot be part of the campaign."""
    target: object            # a Cluster, or a Host the campaign refuses
    plan: UpgradePlan | None
    problems: list[str]


def dry_run(targets, choice: UpgradeChoice) -> list[TargetDryRun]:
    """What each cluster's upgrade would do, each prerequisite asked once (the BMCs among them)."""
    profiles = _profiles(choice)
    problem = _choice_problem(choice, profiles)
    answers = []
    for target in targets:
        refusal = problem or _refusal(target, choice, profiles)
        if refusal:
            answers.append(TargetDryRun(target, None, [refusal]))
            continue
        plan = plan_upgrade(request_for(target, choice))
        answers.append(TargetDryRun(target, plan, [f"{target.name}: {v.message}" for v in plan.verdicts if not v.ok]))
    return answers
