"""Assembles the running lab: the datacenter, a Kerberos KDC for its domain, a WinRM endpoint per
host and per cluster, a BMC per host, the control endpoint, and the endpoints file that tells
clients where everything is."""
from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab.bmc import BmcFarm
from lab.cmdlets import ScriptRunner
from lab.control import ControlServer
from lab.datacenter import Datacenter
from lab.kdc import Kdc, KdcError
from lab.topology import Topology

log = logging.getLogger("lab.serve")

DEFAULT_PORTS = {"winrm_http": 5985, "winrm_https": 5986, "bmc": 6230, "control": 6231}
CONTROL_ADDRESS = "127.0.0.1"


def ports_for(port_base: int | None, control_port: int | None = None) -> dict[str, int]:
    if port_base is None:
        ports = dict(DEFAULT_PORTS)
    else:
        ports = {"winrm_http": port_base, "winrm_https": port_base + 1, "bmc": port_base + 2,
                 "control": port_base + 3}
    if control_port is not None:
        ports["control"] = control_port
    return ports


class LabStartError(RuntimeError):
    pass


@dataclass
class EndpointSet:
    """The WinRM endpoints (HTTP and maybe HTTPS) of one host or cluster access point."""
    kind: str
    key: str
    address: str
    http: object
    https: object | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    listening: bool = False

    def all(self):
        return [e for e in (self.http, self.https) if e is not None]


class Lab:
    def __init__(self, topology: Topology, speed: float | None = None, port_base: int | None = None,
                 control_port: int | None = None, state_dir: str | None = None):
        self.topology = topology
        self.dc = Datacenter(topology, speed)
        self.ports = ports_for(port_base, control_port)
        self.token = secrets.token_urlsafe(24)
        self._own_state_dir = state_dir is None
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="ferry-lab-"))
        self.runner = ScriptRunner(self.dc)
        self.endpoints: dict[tuple[str, str], EndpointSet] = {}
        self.bmcs = None
        self.control = None
        self.tls = None
        self.ca_path = None
        self.kdc: Kdc | None = None
        self.kdc_problem = ""
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="lab-endpoints")

    # -- start / stop ----------------------------------------------------------------------------
    def start(self) -> dict:
        started = time.monotonic()
        self._start_bmcs()            # first: pyghmi's loop uses select(), which wants low descriptors
        self._make_certificates()
        self._start_kdc()
        with self.dc.lock:
            hosts = list(self.dc.hosts.values())
            clusters = list(self.dc.clusters.values())
        for host in hosts:
            self.endpoints[("host", host.key)] = self._endpoint_set("host", host.key, host.address)
        for cluster in clusters:
            self.endpoints[("cluster", cluster.key)] = self._endpoint_set("cluster", cluster.key, cluster.address)
        for kind, key in self.endpoints:
            self._reconcile(kind, key)
        try:
            self.control = ControlServer(self.dc, CONTROL_ADDRESS, self.ports["control"], self.token)
        except OSError as error:
            raise LabStartError(f"cannot listen on {CONTROL_ADDRESS}:{self.ports['control']} for the control "
                                f"endpoint ({error.strerror}); choose another --port-base or --control-port") from None
        self.control.start()
        self.dc.on_endpoints_changed = self._endpoints_changed
        log.info("lab %s started in %.2f s", self.topology.name, time.monotonic() - started)
        return self.describe()

    def stop(self) -> None:
        self.dc.on_endpoints_changed = None
        if self.control is not None:
            self.control.stop()
        for entry in self.endpoints.values():
            for endpoint in entry.all():
                try:
                    endpoint.close()
                except Exception:
                    log.exception("closing %s", endpoint.url)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.kdc is not None:
            self.kdc.stop()
        self.dc.stop()
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def _start_bmcs(self) -> None:
        self.bmcs = BmcFarm()
        with self.dc.lock:
            hosts = [h for h in self.dc.hosts.values() if h.has_bmc]
        for host in hosts:
            try:
                self.bmcs.add(self.dc, host.key, {host.bmc_username: host.bmc_password}, host.bmc_address,
                              self.ports["bmc"])
            except OSError as error:
                raise LabStartError(f"cannot listen on {host.bmc_address}:{self.ports['bmc']}/udp for the BMC of "
                                    f"{host.name} ({error.strerror}); choose another --port-base") from None
        self.bmcs.start()

    def _make_certificates(self) -> None:
        from lab.winrm import make_certificates
        names = ["localhost", "127.0.0.1"]
        with self.dc.lock:
            for host in self.dc.hosts.values():
                names += [host.name, host.fqdn, host.address]
            for cluster in self.dc.clusters.values():
                names += [cluster.name, cluster.fqdn, cluster.address]
        ca, cert, key = make_certificates(self.state_dir, names)
        self.ca_path = str(ca)
        self.tls = (str(cert), str(key))

    def _start_kdc(self) -> None:
        """The domain's KDC: every Run As account and HTTP/<fqdn> for every domain member. Without
        the MIT KDC installed the lab still runs, with NTLM, Basic and CredSSP only."""
        users: dict[str, str] = {}
        services, trusted = [], []
        with self.dc.lock:
            items = [h for h in self.dc.hosts.values() if h.domain] + list(self.dc.clusters.values())
            for item in items:
                known = users.setdefault(item.winrm_username, item.winrm_password)
                if known != item.winrm_password:
                    raise LabStartError(f"{item.winrm_username} has two passwords in the topology; an account of "
                                        f"the domain has one (give {item.name} the same password or another account)")
                services.append(item.fqdn)
                if item.trusted_for_delegation:
                    trusted.append(item.fqdn)
        if not services:
            self.kdc_problem = "no machine of the topology is in a domain"
            return
        try:
            self.kdc = Kdc(self.state_dir / "kdc", self.topology.domain, users, services, trusted).start()
        except KdcError as error:
            self.kdc, self.kdc_problem = None, str(error)
            log.warning("Kerberos is not available in this lab: %s", error)
            return
        os.environ.update(self.kdc.environment())   # this process's acceptors read the keytab

    def _endpoint_set(self, kind: str, key: str, address: str) -> EndpointSet:
        from lab.winrm import WinRMEndpoint
        with self.dc.lock:
            if kind == "host":
                item = self.dc.hosts[key]
                name, https, domain = item.name, item.https, item.domain
            else:
                item = self.dc.clusters[key]
                name, https, domain = item.name, True, item.domain
            credentials = {item.winrm_username: item.winrm_password}
            auth = ["basic", "ntlm"] if item.winrm_transport == "basic" else ["ntlm"]
            kerberos = None
            if self.kdc is not None and domain:
                auth.append("kerberos")
                kerberos = (item.fqdn, self.kdc.realm)
            credssp = item.credssp or item.winrm_transport == "credssp"
            trusted = item.trusted_for_delegation
        if kerberos is not None:
            self.kdc.add_service(kerberos[0], trusted)     # joined the domain since the lab started

        def execute(script, identity=None, kind=kind, key=key, stdin=None):
            return self.runner.execute(kind, key, script, identity, stdin=stdin)

        def faults(kind=kind, key=key):
            return self.dc.take_winrm_fault(kind, key)

        common = dict(execute=execute, machine_name=name, kerberos=kerberos, delegation_trusted=trusted,
                      faults=faults)
        http = WinRMEndpoint(address, self.ports["winrm_http"], credentials, auth=auth, **common)
        secure = None
        if https:
            secure = WinRMEndpoint(address, self.ports["winrm_https"], credentials, tls=self.tls,
                                   auth=auth + ["credssp"] if credssp else auth, **common)
        return EndpointSet(kind, key, address, http, secure)

    # -- keeping endpoints in line with the simulated state -------------------------------------
    def _endpoints_changed(self, items) -> None:
        futures = [self._pool.submit(self._reconcile_logged, kind, key) for kind, key in items]
        if threading.current_thread().name != "lab-scheduler":
            # a BMC power-off (or a control request) answers only once the host's WinRM is really
            # gone; timers (restarts finishing) must not wait, or other timers would be late
            concurrent.futures.wait(futures, timeout=10)

    def _reconcile_logged(self, kind: str, key: str) -> None:
        try:
            self._reconcile(kind, key)
        except Exception:
            log.exception("could not bring the WinRM endpoint of %s %s in line", kind, key)

    def _reconcile(self, kind: str, key: str) -> None:
        entry = self.endpoints.get((kind, key))
        if entry is None:
            return
        with entry.lock:
            with self.dc.lock:
                if kind == "host":
                    host = self.dc.hosts[key]
                    wanted, address = host.online, host.address
                else:
                    cluster = self.dc.clusters[key]
                    wanted, address = self.dc.cluster_online(cluster), cluster.address
            if address != entry.address:
                for endpoint in entry.all():
                    endpoint.close()
                fresh = self._endpoint_set(kind, key, address)
                entry.address, entry.http, entry.https, entry.listening = address, fresh.http, fresh.https, False
            if wanted and not entry.listening:
                try:
                    for endpoint in entry.all():
                        endpoint.start()
                except OSError as error:
                    raise LabStartError(f"cannot listen on {address} for {kind} {key}'s WinRM "
                                        f"({error.strerror}); choose another --port-base") from None
                entry.listening = True
            elif not wanted and entry.listening:
                for endpoint in entry.all():
                    endpoint.stop()
                entry.listening = False

    # -- the endpoints file -----------------------------------------------------------------------
    def _winrm(self, entry: EndpointSet, username: str, password: str, transport: str) -> dict:
        out = {"url": entry.http.url, "username": username, "password": password, "transport": transport}
        out["https_url"] = entry.https.url if entry.https is not None else None
        out["auth"] = list((entry.https or entry.http).auth)
        return out

    def _kerberos(self) -> dict | None:
        """Where the domain's KDC is and the Run As account's principal (null when there is none)."""
        if self.kdc is None:
            return None
        username, password = next(iter(self.kdc.users.items()))
        return {**self.kdc.describe(), "principal": self.kdc.principal(username), "password": password,
                "principals": {self.kdc.principal(u): p for u, p in self.kdc.users.items()}}

    def describe(self) -> dict:
        dc = self.dc
        with dc.lock:
            hosts, update_server, deployment_server = [], None, None
            for host in dc.hosts.values():
                entry = self.endpoints[("host", host.key)]
                item = {"name": host.name, "fqdn": host.fqdn, "address": host.address, "role": host.role,
                        "cluster": dc.clusters[host.cluster].name if host.cluster else None,
                        "mac": host.management_nic().mac,
                        "winrm": self._winrm(entry, host.winrm_username, host.winrm_password, host.winrm_transport),
                        "bmc": {"address": host.bmc_address, "port": self.ports["bmc"],
                                "username": host.bmc_username, "password": host.bmc_password}
                        if host.has_bmc else None}
                if host.role == "wsus":
                    item["wsus_port"] = self.topology.wsus_port
                    update_server = item
                elif host.role == "deployment":
                    item["remote_install"] = self.topology.remote_install
                    deployment_server = item
                else:
                    hosts.append(item)
            clusters = []
            for cluster in dc.clusters.values():
                entry = self.endpoints[("cluster", cluster.key)]
                clusters.append({"name": cluster.name, "fqdn": cluster.fqdn, "kind": cluster.kind,
                                 "address": cluster.address,
                                 "nodes": [r.name for r in cluster.nodes],
                                 "winrm": self._winrm(entry, cluster.winrm_username, cluster.winrm_password,
                                                      cluster.winrm_transport)})
            return {"lab": {"name": self.topology.name, "topology": str(Path(self.topology.path).resolve()),
                            "speed": dc.clock.speed, "pid": os.getpid(), "ports": self.ports},
                    "control": {"url": self.control.url if self.control else None, "token": self.token},
                    "ca_path": self.ca_path, "kerberos": self._kerberos(),
                    "kerberos_unavailable": self.kdc_problem or None, "hosts": hosts, "clusters": clusters,
                    "update_server": update_server, "deployment_server": deployment_server}

    def write_endpoints(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.describe(), handle, indent=2)
        os.replace(temporary, path)
        return path
