"""The PowerShell cmdlets each simulated machine offers, and running a script on one of them."""
from __future__ import annotations

import logging
import time

from lab.cmdlets import (  # noqa: F401 (registration)
    cluster,
    eventlog,
    files,
    hyperv,
    provisioning,
    quorum,
    servers,
    storage,
    system,
    windowsupdate,
)
from lab.cmdlets.common import MODULES, HostContext
from lab.datacenter.hostconfig import feature_modules

log = logging.getLogger("lab.cmdlets")

BASE_MODULES = ("CimCmdlets", "Microsoft.PowerShell.Management", "NetAdapter", "NetTCPIP", "DnsClient", "Storage",
                "WindowsUpdateProvider", "SmbShare", "ActiveDirectory", "ServerManager")
DEFAULT_GARBAGE = "WARNING: 8 objects were not serialised\r\n{\"Name\":\"\u0000\u0003\ufffd\ufffd\",\"State\":\r\n"
_cache: dict[str, dict] = {}


def modules_of(host) -> tuple[str, ...]:
    """The modules a host has: the base ones and those its installed Windows features bring."""
    return BASE_MODULES + feature_modules(host.features)


def cmdlets_for(modules: tuple[str, ...]) -> dict:
    """{name: lab.powershell.Cmdlet} for a set of installed modules."""
    if modules not in _cache:
        from lab.powershell import Cmdlet
        table = {}
        for module in modules:
            for name, spec in MODULES.get(module, {}).items():
                table[name] = Cmdlet(name=spec.name, func=spec.func, parameters=spec.parameters,
                                     positional=spec.positional, pipeline=spec.pipeline, type_name=spec.type_name,
                                     module=spec.module, supports_should_process=spec.should_process)
        _cache[modules] = table
    return _cache[modules]


def all_cmdlets() -> dict[str, list]:
    """module → sorted [(cmdlet, parameters)] for documentation and tests."""
    return {m: sorted((n, sorted(s.parameters)) for n, s in cmds.items()) for m, cmds in sorted(MODULES.items())}


class ScriptRunner:
    """Runs scripts arriving on a host's (or a cluster's) WinRM endpoint."""

    def __init__(self, dc):
        self.dc = dc

    def execute(self, kind: str, key: str, script: str, identity=None, stdin: list[str] | None = None):
        """Run `script` as the host (or cluster access point); `identity` is the WinRM logon
        (lab.winrm.auth.SessionIdentity), None for a script run on the console; `stdin` is its
        standard input by lines (``$input``) when it reads it."""
        from lab.powershell import ScriptResult, run_script
        context = HostContext(self.dc, kind, key, identity)
        with self.dc.lock:
            host = context.host
            modules = modules_of(host)
            env = {"COMPUTERNAME": host.name.upper(), "USERDNSDOMAIN": (host.domain or "").upper(),
                   "USERDOMAIN": self.dc.topology.netbios_domain if host.domain else host.name.upper(),
                   "USERNAME": host.winrm_username.rsplit("\\", 1)[-1], "SystemRoot": "C:\\Windows",
                   "SystemDrive": "C:", "PROCESSOR_ARCHITECTURE": "AMD64", "OS": "Windows_NT"}
            fault_key = key if kind == "host" else "cluster:" + key
            garbage = self.dc.faults.active("garbage_output", host_key=fault_key)
            text = script if stdin is None else script + "\n" + "\n".join(stdin)
            if garbage is not None and garbage.get("cmdlet") and garbage["cmdlet"].lower() not in text.lower():
                garbage = None
            if garbage is not None:
                self.dc.faults.take("garbage_output", id=garbage["id"])
        speed = self.dc.clock.speed
        result = run_script(script, cmdlets_for(modules), context=context, env=env,
                            variables=None if stdin is None else {"input": list(stdin)},
                            sleep=lambda seconds: time.sleep(max(float(seconds), 0.0) / speed))
        if garbage is not None:
            with self.dc.lock:
                self.dc.event("garbage-output", host=context.host.name, fault=garbage["id"])
            return ScriptResult(stdout=garbage.get("text") or DEFAULT_GARBAGE, stderr="", exit_code=0)
        return result


__all__ = ["ScriptRunner", "cmdlets_for", "modules_of", "all_cmdlets", "HostContext"]
