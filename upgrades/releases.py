"""The Windows Server releases a Hyper-V or SOFS cluster can run, and which upgrades are allowed.

Sources, by fact:
- Builds: what Win32_OperatingSystem.BuildNumber reports; learn.microsoft.com/windows/release-health/
  windows-server-release-info (9600, 14393, 17763, 20348, 26100).
- Cluster functional levels: Get-Cluster ClusterFunctionalLevel; learn.microsoft.com/windows-server/
  failover-clustering/cluster-operating-system-rolling-upgrade gives 8 for 2012 R2 and 9 for 2016;
  10 (2019), 11 (2022) and 12 (2025) follow the same rule, one level per release (not in an official
  table: unconfirmed).
- Default VM configuration versions: learn.microsoft.com/windows-server/virtualization/hyper-v/deploy/
  upgrade-virtual-machine-version-in-hyper-v-on-windows-or-windows-server, "Supported virtual machine
  configuration versions" (2012 R2 5.0, 2016 8.0, 2019 9.0, 2022 10.0, 2025 12.0).
- Rolling-upgrade sources: System Center VMM's "Perform a rolling upgrade of a Hyper-V host cluster"
  (learn.microsoft.com/system-center/vmm/hyper-v-rolling-upgrade): VMM 2016 upgrades 2012 R2 clusters
  to 2016; VMM 2019 and 2022 need the cluster on 2016 or later; VMM 2025 on 2019 or later. The
  cluster itself only ever takes nodes one release ahead of its functional level (mixed mode).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    key: str                       # "2022"
    name: str                      # "Windows Server 2022"
    build: int                     # 20348
    functional_level: int          # Get-Cluster ClusterFunctionalLevel once every node runs it
    vm_version: str                # the default VM configuration version of its Hyper-V
    upgrades_from: tuple[str, ...]  # releases (keys) a rolling upgrade to this one may start from

    def __str__(self):
        return self.name


RELEASES: tuple[Release, ...] = (
    Release("2012R2", "Windows Server 2012 R2", 9600, 8, "5.0", ()),
    Release("2016", "Windows Server 2016", 14393, 9, "8.0", ("2012R2",)),
    Release("2019", "Windows Server 2019", 17763, 10, "9.0", ("2016",)),
    Release("2022", "Windows Server 2022", 20348, 11, "10.0", ("2016", "2019")),
    Release("2025", "Windows Server 2025", 26100, 12, "12.0", ("2019", "2022")),
)
BY_KEY = {r.key: r for r in RELEASES}
BY_BUILD = {r.build: r for r in RELEASES}
BY_LEVEL = {r.functional_level: r for r in RELEASES}


class UnknownRelease(ValueError):
    """A build or functional level that is none of the releases Ferry knows."""


def by_build(build: int | None) -> Release:
    """The release of an OS build (10.0.20348 → 2022)."""
    try:
        return BY_BUILD[int(build)]
    except (KeyError, TypeError, ValueError):
        known = ", ".join(f"{r.build} ({r.name})" for r in RELEASES)
        raise UnknownRelease(f"Build {build} is not a Windows Server release Ferry knows ({known}).") from None


def by_functional_level(level: int | None) -> Release:
    try:
        return BY_LEVEL[int(level)]
    except (KeyError, TypeError, ValueError):
        raise UnknownRelease(f"Cluster functional level {level} is not one Ferry knows "
                             f"({', '.join(str(r.functional_level) for r in RELEASES)}).") from None


def release_of_build(build: int | None) -> Release | None:
    """Like by_build, None for a build Ferry does not know (an insider build, no reading yet)."""
    try:
        return by_build(build)
    except UnknownRelease:
        return None


def rolling_upgrade_refusal(current: Release, target: Release) -> str | None:
    """Why a cluster on `current` cannot be upgraded to `target` by a rolling upgrade; None if it can."""
    if target == current:
        return f"The cluster already runs {target.name}."
    if target.build < current.build:
        return f"{target.name} is older than {current.name}: a rolling upgrade only goes forward."
    if current.key not in target.upgrades_from:
        allowed = " or ".join(BY_KEY[k].name for k in target.upgrades_from) or "no earlier release"
        return f"A rolling upgrade to {target.name} starts from {allowed}, not from {current.name}."
    return None


def joinable(functional_level: int, node: Release) -> bool:
    """Whether a node of release `node` may join a cluster at `functional_level`: the level's own
    release, or the next one (mixed mode)."""
    return functional_level <= node.functional_level <= functional_level + 1


def can_raise_functional_level(functional_level: int | None, builds: list[int | None]) -> Release | None:
    """The release the functional level would rise to (Update-ClusterFunctionalLevel) when every
    node runs a newer release than the level; None otherwise."""
    releases = [release_of_build(b) for b in builds]
    if functional_level is None or not releases or any(r is None for r in releases):
        return None
    oldest = min(releases, key=lambda r: r.functional_level)
    return oldest if oldest.functional_level > functional_level else None


def is_mixed_mode(functional_level: int | None, builds: list[int | None]) -> bool:
    """Nodes on different releases, or newer than the functional level (upgraded, level not raised)."""
    releases = {r for r in (release_of_build(b) for b in builds) if r is not None}
    if len(releases) > 1:
        return True
    return functional_level is not None and any(r.functional_level > functional_level for r in releases)


__all__ = [
    "BY_BUILD", "BY_KEY", "BY_LEVEL", "RELEASES", "Release", "UnknownRelease", "by_build", "by_functional_level",
    "can_raise_functional_level", "is_mixed_mode", "joinable", "release_of_build", "rolling_upgrade_refusal",
]
