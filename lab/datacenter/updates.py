"""Windows Update on the hosts (scan, install, pending reboot) and the WSUS catalog."""
from __future__ import annotations

import re
import time

from lab.datacenter.core import OperationError
from lab.datacenter.model import Host
from lab.topology import UpdateSpec

WU_E_INVALID_CRITERIA = 0x80240032
WU_E_NO_UPDATE = 0x80240024
WU_E_CALL_CANCELLED = 0x8024000B

_TERM_RE = re.compile(r"^\s*(\w+)\s*=\s*('(?:[^']|'')*'|\d+)\s*$")
CRITERIA_FIELDS = ("IsInstalled", "IsHidden", "Type", "RebootRequired", "UpdateID", "IsAssigned",
                   "BrowseOnly", "AutoSelectOnWebSites", "DeploymentAction", "IsPresent")


def parse_criteria(criteria: str):
    """The Windows Update Agent search grammar, enough of it: `A=1 and B='x' or C=0`.

    Returns a list of alternatives, each a list of (field, value); raises ValueError when invalid."""
    if not isinstance(criteria, str) or not criteria.strip():
        raise ValueError("empty search criteria")
    alternatives = []
    for alternative in re.split(r"\s+or\s+", criteria.strip(), flags=re.IGNORECASE):
        terms = []
        for term in re.split(r"\s+and\s+", alternative.strip().strip("()"), flags=re.IGNORECASE):
            match = _TERM_RE.match(term)
            if not match or match.group(1) not in CRITERIA_FIELDS:
                raise ValueError(f"cannot parse '{term}'")
            value = match.group(2)
            value = value[1:-1].replace("''", "'") if value.startswith("'") else int(value)
            terms.append((match.group(1), value))
        alternatives.append(terms)
    return alternatives


class UpdateOps:
    def applicable(self, host: Host) -> list[UpdateSpec]:
        return [u for u in self.updates.values() if host.os.key in u.applies_to]

    def _superseded_on(self, host: Host, update: UpdateSpec) -> bool:
        for ref in update.superseded_by:
            other = self._update_ref(ref)
            if other is not None and other.id in host.installed:
                return True
        return False

    def _update_ref(self, ref: str) -> UpdateSpec | None:
        ref = str(ref).strip()
        if ref in self.updates:
            return self.updates[ref]
        kb = ref.upper().removeprefix("KB")
        for update in self.updates.values():
            if update.id.lower() == ref.lower() or update.kb == kb:
                return update
        return None

    def offered(self, host: Host, update: UpdateSpec) -> bool:
        """Whether the host's Windows Update (pointed at the lab's WSUS) offers this update."""
        return (update.approved and not update.declined and host.os.key in update.applies_to
                and not self._superseded_on(host, update))

    def applicable_missing(self, host: Host) -> list[UpdateSpec]:
        return [u for u in self.applicable(host) if u.id not in host.installed and self.offered(host, u)]

    # -- MSFT_WUOperations ---------------------------------------------------------------------
    def scan(self, host_key: str, criteria: str) -> tuple[int, list[UpdateSpec]]:
        try:
            alternatives = parse_criteria(criteria)
        except ValueError:
            return WU_E_INVALID_CRITERIA, []
        with self.lock:
            host = self.hosts[host_key]
            duration = self.clock.wall(host.timings["scan_seconds"])
            self.event("wu-scan-started", host=host.name)
        time.sleep(duration)
        with self.change():
            result = []
            for update in self.applicable(host):
                if not self.offered(host, update) and update.id not in host.installed:
                    continue
                facts = {"IsInstalled": int(update.id in host.installed), "IsHidden": 0, "Type": "Software",
                         "RebootRequired": int(update.reboot_required and update.id in host.installed
                                               and host.pending_reboot),
                         "UpdateID": update.id, "IsAssigned": 1, "BrowseOnly": 0, "AutoSelectOnWebSites": 1,
                         "DeploymentAction": "Installation", "IsPresent": int(update.id in host.installed)}
                if any(all(str(facts[f]).lower() == str(v).lower() for f, v in terms) for terms in alternatives):
                    result.append(update)
            self.event("wu-scan", host=host.name, found=len(result))
            return 0, result

    def download(self, host_key: str, refs: list[str]) -> int:
        """Download (only) the given applicable, not yet installed updates into the host's cache.
        The lab's install time already covers the download, so this takes no time of its own;
        it is recorded (event "wu-download") so the order of a remediation's steps can be seen."""
        if not refs:
            return WU_E_NO_UPDATE
        with self.change():
            host = self.hosts[host_key]
            wanted = []
            for ref in refs:
                update = self._update_ref(ref)
                if update is not None and update not in wanted and update.id not in host.installed \
                        and host.os.key in update.applies_to:
                    wanted.append(update)
            host.downloaded |= {u.id for u in wanted}
            self.event("wu-download", host=host.name, updates=[u.kb for u in wanted])
            return 0

    def install(self, host_key: str, refs: list[str]) -> tuple[int, bool, list[UpdateSpec]]:
        """Install updates by id/KB. Returns (HRESULT, reboot required, installed updates)."""
        if not refs:
            return WU_E_NO_UPDATE, False, []
        host = self.hosts[host_key]
        with host.install_lock:
            with self.change():
                wanted = []
                for ref in refs:
                    update = self._update_ref(ref)
                    if update is None or update in wanted:
                        continue
                    if update.id not in host.installed and host.os.key in update.applies_to:
                        wanted.append(update)
                epoch = host.epoch
                fault = self.faults.take("update_install_fails", host_key=host.key)
                duration = 0.0
                if wanted:
                    duration = self.clock.wall(host.timings["install_base_seconds"]
                                               + host.timings["install_per_update_seconds"] * len(wanted))
                self.event("wu-install-started", host=host.name, updates=[u.kb for u in wanted])
            time.sleep(duration)
            with self.change():
                if host.epoch != epoch or not host.online:
                    return WU_E_CALL_CANCELLED, False, []
                failing: set[str] = set()
                hresult = 0
                if fault is not None:
                    hresult = int(fault["hresult"], 16)
                    target = self._update_ref(fault["update"]) if fault.get("update") else None
                    failing = {target.id} if target is not None else {u.id for u in wanted}
                done = []
                for update in wanted:
                    if update.id in failing:
                        host.failed_updates[update.id] = hresult
                        continue
                    host.installed[update.id] = self.clock.now()
                    host.downloaded.discard(update.id)
                    host.failed_updates.pop(update.id, None)
                    done.append(update)
                reboot = any(u.reboot_required for u in done)
                if reboot:
                    host.pending_reboot = True
                self.event("wu-install-finished", host=host.name, installed=[u.kb for u in done],
                           failed=sorted(self.updates[i].kb for i in failing if i in self.updates),
                           hresult=f"0x{hresult:08X}", reboot_required=reboot)
                return hresult, host.pending_reboot if done else False, done

    # -- WSUS -------------------------------------------------------------------------------------
    def reporting_hosts(self) -> list[Host]:
        return [h for h in self.hosts.values() if h.role in ("hyperv", "sofs", "server")]

    def wsus_counts(self, update: UpdateSpec) -> dict[str, int]:
        needing = installed = not_applicable = failed = 0
        for host in self.reporting_hosts():
            if host.os.key not in update.applies_to:
                not_applicable += 1
            elif update.id in host.installed:
                installed += 1
            elif update.id in host.failed_updates:
                failed += 1
            elif not self._superseded_on(host, update):
                needing += 1
            else:
                not_applicable += 1
        return {"needing": needing, "installed": installed, "not_applicable": not_applicable, "failed": failed}

    def set_approval(self, update_id: str, approved: bool | None = None, declined: bool | None = None) -> UpdateSpec:
        with self.change():
            update = self._update_ref(update_id)
            if update is None:
                # "UpdateNotFound" is an error id the lab invented (unconfirmed)
                raise OperationError(f"The update '{update_id}' was not found on the WSUS server.",
                                     "ObjectNotFound", "UpdateNotFound", "System.ArgumentException")
            if approved is not None:
                update.approved = approved
            if declined is not None:
                update.declined = declined
                if declined:
                    update.approved = False
            self.event("wsus-approval", kb=update.kb, approved=update.approved, declined=update.declined)
            return update
