"""The DHCP server that runs beside WDS on the deployment server: one IPv4 scope, reservations, and
the address a PXE-deployed host gets when it first boots."""
from __future__ import annotations

import ipaddress

from lab.datacenter.core import OperationError
from lab.datacenter.model import Host, Reservation
from lab.topology import normalize_mac

DHCP_EXCEPTION = "Microsoft.Management.Infrastructure.CimException"
# The lab is all loopback: one scope over 127.0.0.0/8, leases handed out from 127.0.250.x, so any
# lab address can be reserved and a host without a reservation lands somewhere nobody expects.
SCOPE = ipaddress.IPv4Network("127.0.0.0/8")
LEASE_RANGE = ("127.0.250.1", "127.0.250.254")
SCOPE_NAME = "Deployment"


def _dhcp_error(message: str, code: int, category: str = "InvalidOperation") -> OperationError:
    # The DhcpServer module reports Win32 errors as "DHCP <code>" (unconfirmed beyond the codes).
    return OperationError(message, category, f"DHCP {code}", DHCP_EXCEPTION)


class DhcpOps:
    def dhcp_scope(self, scope_id: str) -> ipaddress.IPv4Network:
        try:
            wanted = ipaddress.IPv4Address(str(scope_id).strip())
        except ValueError:
            raise OperationError(f"Cannot bind parameter 'ScopeId'. Cannot convert value \"{scope_id}\" to type "
                                 f"\"System.Net.IPAddress\".", "InvalidArgument", "CannotConvertArgumentNoMessage",
                                 "System.Management.Automation.ParameterBindingException") from None
        if wanted != SCOPE.network_address:
            raise _dhcp_error(f"Failed to get scope {wanted} on DHCP server {self.deployment_host().name}. The "
                              f"specified IPv4 subnet does not exist.", 20022, "ObjectNotFound")
        return SCOPE

    def add_reservation(self, scope_id: str, ip: str, client_id: str, name: str | None, description: str,
                        kind: str) -> Reservation:
        with self.change():
            scope = self.dhcp_scope(scope_id)
            server = self.deployment_host().name
            try:
                address = ipaddress.IPv4Address(str(ip).strip())
            except ValueError:
                raise OperationError(f"Cannot bind parameter 'IPAddress'. Cannot convert value \"{ip}\" to type "
                                     f"\"System.Net.IPAddress\".", "InvalidArgument", "CannotConvertArgumentNoMessage",
                                     "System.Management.Automation.ParameterBindingException") from None
            mac = normalize_mac(client_id)
            if address not in scope:
                raise _dhcp_error(f"Failed to add reservation {address} to scope {scope.network_address} on DHCP "
                                  f"server {server}. The specified IP address is not in the scope.", 20020)
            for existing in self.reservations:
                if existing.ip == str(address) or existing.client_id == mac:
                    raise _dhcp_error(f"Failed to add reservation {address} to scope {scope.network_address} on "
                                      f"DHCP server {server}. The specified IP address or hardware address is "
                                      f"being used by another client.", 20019, "ResourceExists")
            reservation = Reservation(str(scope.network_address), str(address), mac, name or str(address),
                                      description, kind)
            self.reservations.append(reservation)
            self.event("dhcp-reservation-added", ip=reservation.ip, client=mac)
            return reservation

    def find_reservations(self, scope_id: str | None = None, client_ids=(), ips=()) -> list[Reservation]:
        with self.lock:
            if scope_id is not None:
                self.dhcp_scope(scope_id)
            macs = {normalize_mac(c) for c in client_ids}
            wanted_ips = {str(ipaddress.IPv4Address(str(i).strip())) for i in ips}
            return [r for r in self.reservations
                    if (not macs or r.client_id in macs) and (not wanted_ips or r.ip in wanted_ips)]

    def remove_reservations(self, scope_id: str | None, client_ids=(), ips=()) -> list[Reservation]:
        with self.change():
            found = self.find_reservations(scope_id, client_ids, ips)
            server = self.deployment_host().name
            if (client_ids or ips) and not found:
                what = ", ".join(list(client_ids) + list(ips))
                raise _dhcp_error(f"Failed to delete reservation {what} on DHCP server {server}. The specified "
                                  f"reserved IP address or client does not exist.", 20018, "ObjectNotFound")
            for reservation in found:
                self.reservations.remove(reservation)
                self.event("dhcp-reservation-removed", ip=reservation.ip, client=reservation.client_id)
            return found

    def dhcp_address(self, host: Host, mac: str) -> str | None:
        """The address the DHCP server gives `mac` (its reservation, or the next free lease);
        None when the server is down (the NIC ends up with no usable address)."""
        server = self.deployment_host()
        if server is None or not server.online:
            return None
        for reservation in self.reservations:
            if reservation.client_id == mac:
                return reservation.ip
        taken = {h.address for h in self.hosts.values() if h is not host} | {r.ip for r in self.reservations}
        taken |= {n.ip for h in self.hosts.values() if h is not host for n in h.nics if n.ip}
        first, last = (ipaddress.IPv4Address(a) for a in LEASE_RANGE)
        for value in range(int(first), int(last) + 1):
            candidate = str(ipaddress.IPv4Address(value))
            if candidate not in taken:
                return candidate
        return None
