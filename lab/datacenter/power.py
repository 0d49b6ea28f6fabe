"""Host power: Restart-Computer, the BMC's chassis commands, booting, and PXE re-imaging."""
from __future__ import annotations

import secrets

from lab.datacenter.core import OperationError
from lab.datacenter.model import DRAIN_NOT_INITIATED, Host

# A restart must not tear the WinRM connection down before the command's answer got out.
MIN_SHUTDOWN_WALL_SECONDS = 0.3


class PowerOps:
    # -- Restart-Computer ------------------------------------------------------------------------
    def restart_host(self, host_key: str) -> None:
        """The command returns; the host goes down a moment later and answers WinRM again
        reboot_seconds after the command (the whole restart, shutdown included)."""
        with self.change():
            host = self.hosts[host_key]
            if host.os_state != "running":
                raise OperationError(f"Failed to restart the computer {host.name}: a shutdown is already "
                                     f"in progress.", "OperationStopped", "RestartcomputerFailed")
            host.os_state = "stopping"
            host.epoch += 1
            total = self.clock.wall(host.timings["reboot_seconds"])
            down = min(max(self.clock.wall(host.timings["shutdown_seconds"]), MIN_SHUTDOWN_WALL_SECONDS), total / 2)
            self.scheduler.after(down, self._timer, host_key, host.epoch, self._down_for_restart)
            self.scheduler.after(total, self._timer, host_key, host.epoch, self._finish_boot)
            self.event("restart-requested", host=host.name)

    def upgrade_in_place(self, host_key: str, release) -> None:
        """Setup of a newer release run on the host itself, outside any management tool: the host
        restarts into `release` and keeps its name, addresses, features and cluster membership."""
        with self.change():
            host = self.hosts[host_key]
            if release.build <= host.os.build:
                raise ValueError(f"{host.name} runs {host.os.caption} already; an in-place upgrade goes to a "
                                 f"newer release")
            if host.os_state != "running":
                raise ValueError(f"{host.name} is {host.os_state}, not running")
            host.os = release
            self.event("host-upgraded-in-place", host=host.name, os=release.caption)
            self.restart_host(host_key)

    def _timer(self, host_key: str, epoch: int, step) -> None:
        with self.change():
            host = self.hosts[host_key]
            if host.epoch == epoch:
                step(host)

    def _down_for_restart(self, host: Host) -> None:
        host.os_state = "booting"
        self._went_down(host, "restart")
        host.pending_reboot = False

    def _went_down(self, host: Host, reason: str) -> None:
        """The host stopped answering. Anything still running on it crashed."""
        self.invariants.check()          # records running VMs on a down host before they are gone
        for vm in host.vms.values():
            if vm.in_memory:
                vm.state, vm.started_at = "Off", None
                self.event("vm-crashed", vm=vm.name, host=host.name, reason=reason)
        cluster = self.cluster_of(host)
        if cluster is not None:
            self.storage_node_down(host)
            self.refresh_ownership(cluster)
            self.touch("cluster", cluster.key)
        self.touch("host", host.key)
        self.event("host-down", host=host.name, reason=reason)

    def _finish_boot(self, host: Host) -> None:
        if self.faults.take("host_stays_down", host_key=host.key):
            host.os_state = "hung"
            self.event("host-hung", host=host.name, reason="injected fault: the host does not come back")
            return
        if host.pending_features:
            host.features |= host.pending_features
            self.event("features-installed", host=host.name, features=sorted(host.pending_features))
            host.pending_features = set()
        host.os_state = "running"
        host.last_boot = self.clock.now()
        cluster = self.cluster_of(host)
        if cluster is not None:
            self.storage_node_back(host)
            self.refresh_ownership(cluster)
            self.touch("cluster", cluster.key)
        self.touch("host", host.key)
        self.event("host-up", host=host.name, os=host.os.caption)

    # -- BMC -----------------------------------------------------------------------------------
    def bmc_power_state(self, host_key: str) -> str:
        with self.lock:
            return "on" if self.hosts[host_key].power_on else "off"

    def bmc_power(self, host_key: str, action: str) -> None:
        with self.change():
            host = self.hosts[host_key]
            self.event("bmc-" + action, host=host.name)
            if action == "off":
                if host.power_on:
                    self._hard_off(host, "powered off through the BMC")
            elif action == "on":
                if not host.power_on:
                    self._power_up(host)
            elif action in ("reset", "cycle"):
                if host.power_on:
                    self._hard_off(host, f"power {action} through the BMC")
                self._power_up(host)
            elif action == "shutdown":
                if host.power_on and host.os_state == "running":
                    self._soft_off(host)
            else:
                raise ValueError(action)

    def _hard_off(self, host: Host, reason: str) -> None:
        host.power_on = False
        host.os_state = "off"
        host.epoch += 1
        self._went_down(host, reason)

    def _soft_off(self, host: Host) -> None:
        host.os_state = "stopping"
        host.epoch += 1
        for vm in host.vms.values():
            if vm.in_memory:
                vm.state = "Saved" if vm.automatic_stop_action == "Save" else "Off"
                vm.started_at = None
                self.event("vm-stopped-by-shutdown", vm=vm.name, host=host.name, state=vm.state)
        delay = self.clock.wall(host.timings["shutdown_seconds"])
        self.scheduler.after(delay, self._timer, host.key, host.epoch,
                             lambda h: self._hard_off(h, "soft power off through the BMC"))

    def _power_up(self, host: Host) -> None:
        host.power_on = True
        host.os_state = "booting"
        host.epoch += 1
        device, host.boot_device = host.boot_device, "default"
        if device == "network" and self.faults.take("pxe_boot_ignored", host_key=host.key):
            device = "default"
            self.event("pxe-boot-ignored", host=host.name, reason="injected fault: the firmware boots from disk")
        if device == "network":
            staging = self.staging_for(host)
            if staging is not None:
                content = self.unattend_content(staging)
                host.os_state = "deploying"
                self.event("pxe-deployment-started", host=host.name, device=staging.device_id,
                           name=staging.device_name)
                self.scheduler.after(self.clock.wall(host.timings["deploy_seconds"]), self._timer, host.key,
                                     host.epoch, lambda h: self._finish_deploy(h, staging, content))
                return
            self.event("pxe-no-deployment", host=host.name, reason="no staged deployment for its MAC; "
                                                                    "booting from disk")
        self.scheduler.after(self.clock.wall(host.timings["boot_seconds"]), self._timer, host.key, host.epoch,
                             self._finish_boot)

    def set_boot_device(self, host_key: str, device: str) -> None:
        with self.change():
            self.hosts[host_key].boot_device = device

    def get_boot_device(self, host_key: str) -> str:
        with self.lock:
            return self.hosts[host_key].boot_device

    # -- re-imaging ------------------------------------------------------------------------------
    def _finish_deploy(self, host: Host, staging, content: str | None) -> None:
        try:
            settings = self.parse_unattend(content, staging)
            image = self.pick_image(settings)
        except OperationError as error:
            host.os_state = "hung"
            self.event("pxe-deployment-failed", host=host.name, reason=error.message)
            return
        self._reimage(host, image, settings)
        self._finish_boot(host)

    def _reimage(self, host: Host, image, settings: dict) -> None:
        """The new machine: the image's OS and default features, the prestaged name and domain, every
        NIC on DHCP (the management NIC gets its reservation, or a lease nobody expected)."""
        lost = [vm.name for vm in host.vms.values()]
        if lost:
            self.invariants.record("host-reimaged-with-vms", host.name,
                                   f"{host.name} was re-imaged while it held VMs {', '.join(lost)}; they are gone")
        host.vms.clear()
        host.incoming.clear()
        old_name = host.name
        host.cluster = None
        host.paused = False
        host.drain_status = DRAIN_NOT_INITIATED
        host.name = settings.get("computer_name") or "WIN-" + secrets.token_hex(4).upper()[:11]
        host.domain = settings.get("domain")
        host.os = image.os
        host.installed = {}
        host.failed_updates = {}
        host.pending_reboot = False
        host.files = {}
        host.features = set()
        host.pending_features = set()
        host.switches = []
        host.install_date = self.clock.now()
        for nic in host.nics:
            nic.dhcp, nic.gateway, nic.dns = True, None, []
            nic.ip = self.dhcp_address(host, nic.mac) if nic is host.management_nic() else None
        new_ip = host.management_nic().ip
        if new_ip is not None and new_ip != host.address:
            host.address = new_ip
        for ignored in settings.get("ignored", []):
            self.event("unattend-setting-ignored", host=host.name, component=ignored,
                       detail="a WDS client unattend file only automates the windowsPE pass")
        self.event("host-reimaged", host=host.name, previous_name=old_name, os=image.os.caption,
                   image=image.name, ip=new_ip, vms_lost=lost)
