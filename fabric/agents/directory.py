"""Active Directory, read from a machine that has the ActiveDirectory module (the deployment server).

Get-ADComputer reaches a domain controller's AD Web Services with the caller's identity: from a
WinRM session that is a second hop, so it needs Kerberos delegation or CredSSP like the cluster
cmdlets. An identity the directory does not hold fails with ADIdentityNotFoundException
(category ObjectNotFound): for Ferry that means the name is free.
"""
import re

from fabric.agents.connection import Connection
from fabric.agents.errors import CmdletError, NotFound
from fabric.agents.quoting import UnsafeArgument, ps_str
from fabric.agents.runner import run_script

_NETBIOS = re.compile(r"^(?!-)[A-Za-z0-9-]{1,15}(?<!-)$")
IDENTITY_NOT_FOUND = ("ActiveDirectoryCmdlet:Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException",)
SERVER_DOWN, SERVER_DOWN_FQID = "ADServerDownException", "ActiveDirectoryServer:"  # no domain controller answered


def computer_name_taken(conn: Connection, name: str) -> bool:
    """True when the directory already has a computer account called `name` (a NetBIOS name)."""
    if not _NETBIOS.match(name or ""):
        raise UnsafeArgument(f"{name!r} is not a computer name (1 to 15 letters, digits or hyphens).")
    body = (f"$computer = Get-ADComputer -Identity {ps_str(name, what='computer name')}\n"
            "$result = @{ Name = [string]$computer.Name }")
    try:
        run_script(conn, body, operation=f"Get-ADComputer {name}", idempotent=True, second_hop=True,
                   not_found_fqids=IDENTITY_NOT_FOUND)
    except NotFound:
        return False
    except CmdletError as error:
        server_down = error.exception_type.endswith(SERVER_DOWN) or error.fqid_startswith(SERVER_DOWN_FQID)
        if server_down and conn.transport not in ("credssp", "kerberos"):
            error.ps_message += (f" From a {conn.transport.upper()} logon on {conn.address} the ActiveDirectory "
                                 f"module cannot reach a domain controller with your identity (a second hop): "
                                 f"connect to the deployment server with CredSSP (HTTPS) or Kerberos with "
                                 f"delegation.")
        raise
    return True
