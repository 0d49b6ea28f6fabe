"""One IPMI 2.0 BMC per host, built on pyghmi's own BMC server.

Three defects of pyghmi 1.6.19's server are worked around here (docs/protocols.md):
1. it always answers cipher suite 3, which crashes clients that proposed suite 17: a proposal
   other than suite 3 gets RMCP+ status 0x11 (no matching cipher suite) so the client retries
   with suite 3;
2. a login for an unknown user was silently dropped (the client hung): it now gets RAKP 2 with
   status 0x0d (unauthorized name);
3. pyghmi wakes its I/O thread by sending to 127.0.0.1 on the port of the first socket it made;
   if that socket listens on 127.0.10.x the wake-up is lost, so a throwaway BMC is bound to
   127.0.0.1 before any other.
A BMC with the `bmc_unresponsive` fault drops every packet, like a BMC that hangs.
"""
from __future__ import annotations

import logging
import threading
import uuid

import pyghmi.ipmi.bmc as bmc
import pyghmi.ipmi.private.constants as constants
import pyghmi.ipmi.private.serversession as serversession

log = logging.getLogger("lab.bmc")

RMCP_NO_MATCHING_CIPHER_SUITE = 0x11
RMCP_UNAUTHORIZED_NAME = 0x0D
SUITE_3 = (1, 1, 1)      # RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128


class LabServerSession(serversession.ServerSession):
    def create_open_session_response(self, request):
        self.clientsessionid = request[4:8]
        if len(request) >= 29:
            proposal = (request[12] & 0x3F, request[20] & 0x3F, request[28] & 0x3F)
            if proposal != SUITE_3:
                return bytearray([request[0], RMCP_NO_MATCHING_CIPHER_SUITE, 0, 0]) + self.clientsessionid
        return super().create_open_session_response(request)

    def _got_rakp1(self, data):
        length = data[27] if len(data) > 27 else 0
        name = bytes(data[28:28 + length]).decode("utf-8", "replace")
        if not length or self.authdata.get(name) is None:
            self.send_payload(bytearray([data[0], RMCP_UNAUTHORIZED_NAME, 0, 0]) + self.clientsessionid,
                              constants.payload_types["rakp2"], retry=False)
            return
        super()._got_rakp1(data)

    def process_pktqueue(self):
        if getattr(self.bmc, "unresponsive", lambda: False)():
            self.pktqueue.clear()
            return
        super().process_pktqueue()


class _QuietBmc(bmc.Bmc):
    """Bound to 127.0.0.1 first so pyghmi's wake-ups reach a socket (defect 3)."""

    def sessionless_data(self, data, sockaddr):
        return None


class LabBmc(bmc.Bmc):
    def __init__(self, dc, host_key: str, users: dict[str, str], address: str, port: int):
        super().__init__(users, port=port, address=address,
                         bmcuuid=uuid.uuid5(uuid.NAMESPACE_URL, "ferry-lab-bmc:" + host_key))
        self.dc = dc
        self.host_key = host_key
        self.mfgid = 0x1C4C        # a vendor id; `mc info` shows it
        self.prodid = 0x0100
        self.firmwaremajor, self.firmwareminor = 2, 19

    def unresponsive(self) -> bool:
        """True when a bmc_unresponsive fault swallows the packet at hand (one firing of its count)."""
        with self.dc.lock:
            return self.dc.faults.take("bmc_unresponsive", host_key=self.host_key) is not None

    def sessionless_data(self, data, sockaddr):
        if self.unresponsive():
            return
        if len(data) >= 22 and data[0] == 6 and bytes(data[2:4]) == b"\xff\x07" and data[4] == 6 and data[5] == 0x10:
            LabServerSession(self.authdata, self.kg, sockaddr, self.serversocket, bytearray(data)[16:], self.uuid,
                             bmc=self)
            return
        super().sessionless_data(data, sockaddr)

    def process_pktqueue(self):
        if self.pktqueue and self.unresponsive():
            self.pktqueue.clear()
            return
        super().process_pktqueue()

    # -- chassis ---------------------------------------------------------------------------------
    def get_power_state(self):
        return self.dc.bmc_power_state(self.host_key)

    def power_off(self):
        self.dc.bmc_power(self.host_key, "off")

    def power_on(self):
        self.dc.bmc_power(self.host_key, "on")

    def power_cycle(self):
        self.dc.bmc_power(self.host_key, "cycle")

    def power_reset(self):
        self.dc.bmc_power(self.host_key, "reset")

    def power_shutdown(self):
        self.dc.bmc_power(self.host_key, "shutdown")

    def get_boot_device(self):
        return self.dc.get_boot_device(self.host_key)

    def set_boot_device(self, bootdevice):
        self.dc.set_boot_device(self.host_key, "network" if bootdevice in ("net", "pxe") else bootdevice)

    def cold_reset(self):
        return 0

    def get_system_guid(self):
        return self.uuid


class BmcFarm:
    """Every BMC of the lab, served by pyghmi's one listening loop in a daemon thread."""

    def __init__(self):
        self.bmcs: dict[str, LabBmc] = {}
        self._anchor = _QuietBmc({}, port=0, address="127.0.0.1")
        self._thread: threading.Thread | None = None

    def add(self, dc, host_key: str, users: dict[str, str], address: str, port: int) -> LabBmc:
        server = LabBmc(dc, host_key, users, address, port)
        self.bmcs[host_key] = server
        return server

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="lab-bmc", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                bmc.Bmc.listen(timeout=30)
            except Exception:
                log.exception("BMC loop error; continuing")
