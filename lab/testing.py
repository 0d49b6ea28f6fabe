"""Running the lab from tests and benchmarks: always in a child process, never in the caller's.

    with LabProcess("tests", speed=200) as lab:
        lab.endpoints["hosts"][0]["winrm"]["url"]
        lab.run_ps("T19-N1", "Get-ClusterNode | ConvertTo-Json")
        lab.fault("winrm_http500", host="T19-N2")
        assert lab.invariants()["ok"]

pyghmi's BMC client and server share module state and its client hangs on a second session to the
same BMC in one process, so `ipmi()` drives a BMC from a fresh subprocess each time.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOPOLOGIES = Path(__file__).resolve().parent / "topologies"
READY = "lab ready"


class LabError(RuntimeError):
    pass


def topology_path(topology: str | Path) -> Path:
    """'tests' or 'demo' → lab/topologies/<name>.toml; anything else is a path."""
    candidate = TOPOLOGIES / f"{topology}.toml"
    if isinstance(topology, str) and "/" not in topology and candidate.exists():
        return candidate
    return Path(topology).resolve()


def _port_free(address: str, port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((address, port))
            return True
        except OSError:
            return False


def free_port_base(tries: int = 50) -> int:
    """A port base P with P, P+1 (TCP), P+2 (UDP), P+3 (TCP) free on the lab's addresses."""
    for _ in range(tries):
        base = random.randrange(20000, 60000, 4)
        if (_port_free("127.0.10.1", base, socket.SOCK_STREAM)
                and _port_free("127.0.10.1", base + 1, socket.SOCK_STREAM)
                and _port_free("127.0.10.1", base + 2, socket.SOCK_DGRAM)
                and _port_free("127.0.0.1", base + 3, socket.SOCK_STREAM)):
            return base
    raise LabError("no free port base found for the lab")


class LabProcess:
    def __init__(self, topology: str | Path = "tests", speed: float | None = None, port_base: int | None = None,
                 startup_timeout: float = 60.0, topology_text: str | None = None, python: str = sys.executable):
        self.speed = speed
        self.port_base = port_base
        self.startup_timeout = startup_timeout
        self.python = python
        self.workdir = Path(tempfile.mkdtemp(prefix="ferry-labproc-"))
        if topology_text is not None:
            self.topology = self.workdir / "topology.toml"
            self.topology.write_text(topology_text, encoding="utf-8")
        else:
            self.topology = topology_path(topology)
        self.log_path = self.workdir / "lab.log"
        self.endpoints_path = self.workdir / "endpoints.json"
        self.process: subprocess.Popen | None = None
        self.endpoints: dict = {}

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> "LabProcess":
        attempts = 1 if self.port_base is not None else 3
        for attempt in range(attempts):
            base = self.port_base if self.port_base is not None else free_port_base()
            error = self._start_once(base)
            if error is None:
                self.port_base = base
                return self
            if "port-base" not in error or attempt == attempts - 1:
                raise LabError(error)
        raise LabError("the lab did not start")

    def _start_once(self, base: int) -> str | None:
        command = [self.python, "-m", "lab", "serve", "--topology", str(self.topology), "--port-base", str(base),
                   "--endpoints-out", str(self.endpoints_path), "--state-dir", str(self.workdir / "state")]
        if self.speed is not None:
            command += ["--speed", str(self.speed)]
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            output = self.output()
            if READY in output.splitlines():
                self.endpoints = json.loads(self.endpoints_path.read_text())
                return None
            if self.process.poll() is not None:
                return (f"the lab exited with code {self.process.returncode} before it was ready "
                        f"({' '.join(command)}):\n{output[-4000:]}")
            time.sleep(0.05)
        self._terminate()
        return f"the lab was not ready within {self.startup_timeout:g} s:\n{self.output()[-4000:]}"

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _terminate(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def stop(self) -> None:
        self._terminate()
        for name in ("KRB5_CONFIG", "KRB5CCNAME"):   # set by kerberos_session, pointing in here
            if str(self.workdir) in os.environ.get(name, ""):
                os.environ.pop(name)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "LabProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the control endpoint ---------------------------------------------------------------------
    def control(self, method: str, path: str, body=None):
        control = self.endpoints["control"]
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(control["url"] + path, data=data, method=method, headers={
            "Authorization": f"Bearer {control['token']}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise LabError(f"{method} {path} answered {error.code}: {detail}") from None

    def state(self) -> dict:
        return self.control("GET", "/state")

    def invariants(self) -> dict:
        return self.control("GET", "/invariants")

    def events(self, since: int = 0) -> list[dict]:
        return self.control("GET", f"/events?since={since}")["events"]

    def timings(self) -> dict:
        return self.control("GET", "/timings")

    def fault(self, kind: str, **spec) -> dict:
        return self.control("POST", "/faults", {"kind": kind, **spec})

    def clear_faults(self) -> list:
        return self.control("DELETE", "/faults")["removed"]

    def vm_action(self, action: str, vm: str, **extra) -> dict:
        return self.control("POST", "/vm-action", {"action": action, "vm": vm, **extra})

    def power(self, host: str, action: str) -> dict:
        return self.control("POST", "/power", {"host": host, "action": action})

    def os_upgrade(self, host: str, os: str) -> dict:
        return self.control("POST", "/os-upgrade", {"host": host, "os": os})

    def assert_invariants_held(self) -> None:
        report = self.invariants()
        if not report["ok"]:
            lines = [f"{v['rule']}: {v['detail']}" for v in report["violations"]]
            raise AssertionError("the lab recorded invariant violations:\n" + "\n".join(lines))

    # -- clients -------------------------------------------------------------------------------------
    def entry(self, name: str) -> dict:
        """The endpoints-file entry of a host, cluster, update or deployment server."""
        items = self.endpoints["hosts"] + self.endpoints["clusters"] + [
            e for e in (self.endpoints["update_server"], self.endpoints["deployment_server"]) if e]
        for item in items:
            if item["name"].lower() == name.lower():
                return item
        raise KeyError(name)

    def session(self, name: str, https: bool = False, **overrides):
        import winrm
        winrm_entry = dict(self.entry(name)["winrm"], **overrides)
        url = winrm_entry["https_url"] if https else winrm_entry["url"]
        return winrm.Session(url, auth=(winrm_entry["username"], winrm_entry["password"]),
                             transport=winrm_entry["transport"], server_cert_validation="validate",
                             ca_trust_path=self.endpoints["ca_path"], read_timeout_sec=70,
                             operation_timeout_sec=60)

    def kerberos_session(self, name: str, https: bool = False, delegate: bool = False):
        """A pywinrm Kerberos session to a host or cluster, with a ticket obtained from the lab's KDC
        for its Run As account (this process's Kerberos settings are pointed at the lab's)."""
        import gssapi
        import gssapi.raw
        import winrm

        kdc = self.endpoints.get("kerberos")
        if not kdc:
            raise LabError(f"the lab runs no KDC: {self.endpoints.get('kerberos_unavailable')}")
        entry = self.entry(name)
        os.environ["KRB5_CONFIG"] = kdc["krb5_config"]
        cache = self.workdir / "ccache"
        cache.mkdir(mode=0o700, exist_ok=True)
        os.environ["KRB5CCNAME"] = f"DIR:{cache}"
        user = entry["winrm"]["username"].rsplit("\\", 1)[-1]
        principal = f"{user}@{kdc['realm']}"
        acquired = gssapi.raw.acquire_cred_with_password(
            gssapi.Name(principal, gssapi.NameType.kerberos_principal), entry["winrm"]["password"].encode(),
            usage="initiate")
        gssapi.raw.store_cred_into({"ccache": os.environ["KRB5CCNAME"]}, acquired.creds, usage="initiate",
                                   overwrite=True)
        url = entry["winrm"]["https_url"] if https else entry["winrm"]["url"]
        return winrm.Session(url, auth=(principal, ""), transport="kerberos", server_cert_validation="validate",
                             ca_trust_path=self.endpoints["ca_path"], kerberos_hostname_override=entry["fqdn"],
                             kerberos_delegation=delegate, read_timeout_sec=70, operation_timeout_sec=60)

    def run_ps(self, name: str, script: str, https: bool = False, transport: str | None = None):
        """(exit code, stdout text, stderr text) of a script run on a host through pywinrm; with
        transport "credssp" (HTTPS only) the logon may reach other machines (the second hop)."""
        overrides = {"transport": transport} if transport else {}
        result = self.session(name, https or transport == "credssp", **overrides).run_ps(script)
        return result.status_code, result.std_out.decode(), result.std_err.decode()

    def run_json(self, name: str, script: str, transport: str | None = None):
        code, out, err = self.run_ps(name, script, transport=transport)
        if code != 0:
            raise LabError(f"script failed on {name} with exit code {code}: {err}")
        return json.loads(out) if out.strip() else None


def ipmi(bmc: dict, *operations, timeout: float = 30.0) -> list:
    """Run IPMI operations against one BMC with pyghmi, in a fresh process (one session).

    Operations: "power" (→ state), ("set_power", "on"|"off"|"reset"|"boot"|"shutdown"),
    ("set_bootdev", "network"|"hd"|...), "bootdev". Returns one result per operation."""
    request = json.dumps({"bmc": bmc, "operations": [op if isinstance(op, str) else list(op) for op in operations]})
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run([sys.executable, "-c", "from lab.testing import _ipmi_main; _ipmi_main()"], input=request,
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)
    if done.returncode != 0:
        raise LabError(f"IPMI to {bmc['address']}:{bmc['port']} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def _ipmi_main() -> None:
    from pyghmi.ipmi import command
    request = json.loads(sys.stdin.read())
    bmc = request["bmc"]
    try:
        ipmi_session = command.Command(bmc=bmc["address"], userid=bmc["username"], password=bmc["password"],
                                       port=bmc["port"])
        results = []
        for operation in request["operations"]:
            if operation == "power":
                results.append(ipmi_session.get_power()["powerstate"])
            elif operation == "bootdev":
                results.append(ipmi_session.get_bootdev()["bootdev"])
            elif operation[0] == "set_power":
                results.append(ipmi_session.set_power(operation[1], wait=False))
            elif operation[0] == "set_bootdev":
                results.append(ipmi_session.set_bootdev(operation[1])["bootdev"])
            else:
                raise ValueError(f"unknown operation {operation!r}")
    except Exception as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(results, default=str))
    sys.stdout.flush()
    os._exit(0)      # pyghmi's I/O thread would otherwise keep the process alive


def lab_fixture(topology: str | Path = "tests", speed: float = 100.0, scope: str = "module"):
    """A pytest fixture that runs a LabProcess for the given scope and stops it afterwards:

        lab = lab_fixture("tests", speed=100, scope="module")      # in a conftest.py
    """
    import pytest

    @pytest.fixture(scope=scope)
    def running_lab():
        with LabProcess(topology, speed=speed) as lab:
            yield lab

    return running_lab
