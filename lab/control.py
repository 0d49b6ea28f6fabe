"""The lab's control endpoint: HTTP + bearer token on 127.0.0.1, JSON in and out.

    GET    /health              no token; {"ok": true}
    GET    /state               hosts, clusters, VMs (state, owner), updates, pending reboot, OS
    GET    /invariants          the invariant log: {"ok", "violations", "active", ...}
    DELETE /invariants          forget recorded violations (a test that provoked one on purpose)
    GET    /events?since=N      events numbered above N: {"events": [{"seq", "event", ...}], "last": M}
    GET    /timings             simulated durations, bandwidths and VM sizes for lower bounds
    GET    /faults              active faults
    POST   /faults              {"kind": ..., "host"|"vm": ..., ...} → 201 and the fault with its id
    DELETE /faults[/ID]         remove one or every fault
    POST   /vm-action           {"action": "move"|"start"|"stop"|"save"|"start-overcommit", "vm", "host"}
    POST   /power               {"host", "action": "on"|"off"|"reset"|"cycle"|"shutdown"} (no BMC needed)
    POST   /os-upgrade          {"host", "os": "2022"|...}: an in-place upgrade done at the console
"""
from __future__ import annotations

import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from lab.datacenter.faults import FaultError
from lab.topology import OS_RELEASES

log = logging.getLogger("lab.control")
MAX_BODY = 1 << 20


class ControlServer:
    def __init__(self, dc, address: str, port: int, token: str):
        self.dc = dc
        self.token = token
        handler = type("Handler", (_Handler,), {"control": self})
        self.httpd = ThreadingHTTPServer((address, port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="lab-control", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- routes --------------------------------------------------------------------------------
    def route(self, method: str, path: str, query: dict, body):
        dc = self.dc
        parts = [p for p in path.split("/") if p]
        if method == "GET" and parts == ["state"]:
            return 200, dc.state()
        if method == "GET" and parts == ["invariants"]:
            return 200, dc.invariants.report()
        if method == "DELETE" and parts == ["invariants"]:
            with dc.lock:
                cleared, dc.invariants.violations = dc.invariants.violations, []
            return 200, {"cleared": cleared}
        if method == "GET" and parts == ["events"]:
            try:
                since = int(query.get("since", ["0"])[0])
            except ValueError:
                return 400, {"error": "since is an event number"}
            with dc.lock:
                events = [e for e in dc.events if e["seq"] > since]
                latest = dc.event_count
            return 200, {"events": events, "last": latest}
        if method == "GET" and parts == ["timings"]:
            return 200, dc.timings()
        if parts and parts[0] == "faults":
            if method == "GET" and len(parts) == 1:
                with dc.lock:
                    return 200, {"faults": dc.faults.list()}
            if method == "POST" and len(parts) == 1:
                try:
                    return 201, dc.add_fault(body)
                except (FaultError, ValueError) as error:
                    return 400, {"error": str(error)}
            if method == "DELETE":
                fault_id = int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else None
                if len(parts) == 2 and fault_id is None:
                    return 400, {"error": "fault ids are numbers"}
                removed = dc.remove_faults(fault_id)
                if fault_id is not None and not removed:
                    return 404, {"error": f"no fault {fault_id}"}
                return 200, {"removed": removed}
        if method == "POST" and parts == ["vm-action"]:
            try:
                return 200, dc.vm_action(body)
            except ValueError as error:
                return 400, {"error": str(error)}
        if method == "POST" and parts == ["power"]:
            if not isinstance(body, dict) or not isinstance(body.get("host"), str):
                return 400, {"error": "give {\"host\": NAME, \"action\": on|off|reset|cycle|shutdown}"}
            host = dc.find_host(body["host"])
            action = body.get("action")
            if host is None:
                return 400, {"error": f"no host named {body['host']!r}"}
            if action not in ("on", "off", "reset", "cycle", "shutdown"):
                return 400, {"error": "action must be on, off, reset, cycle or shutdown"}
            dc.bmc_power(host.key, action)
            return 200, {"host": host.name, "power": dc.bmc_power_state(host.key)}
        if method == "POST" and parts == ["os-upgrade"]:
            release = OS_RELEASES.get(str(body.get("os"))) if isinstance(body, dict) else None
            host = dc.find_host(body["host"]) if isinstance(body, dict) and isinstance(body.get("host"), str) else None
            if host is None or release is None:
                return 400, {"error": f"give {{\"host\": NAME, \"os\": one of {', '.join(OS_RELEASES)}}}"}
            try:
                dc.upgrade_in_place(host.key, release)
            except ValueError as error:
                return 409, {"error": str(error)}
            return 200, {"host": host.name, "os": release.caption}
        return 404, {"error": f"no route {method} {path}"}


class _Handler(BaseHTTPRequestHandler):
    control: ControlServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, payload) -> None:
        data = json.dumps(payload, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if 0 < length <= MAX_BODY else b""
        if url.path.rstrip("/") == "/health":
            return self._send(200, {"ok": True})
        supplied = self.headers.get("Authorization", "").removeprefix("Bearer ").strip() or \
            self.headers.get("X-Lab-Token", "")
        if not hmac.compare_digest(supplied.encode(), self.control.token.encode()):
            return self._send(401, {"error": "missing or wrong token (Authorization: Bearer <token>)"})
        if length > MAX_BODY:
            return self._send(413, {"error": "body too large"})
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return self._send(400, {"error": "the body is not JSON"})
        try:
            status, payload = self.control.route(method, url.path, parse_qs(url.query), body)
        except Exception as error:      # a bug must answer, not hang the caller
            log.exception("control %s %s failed", method, url.path)
            status, payload = 500, {"error": f"{type(error).__name__}: {error}"}
        self._send(status, payload)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")
