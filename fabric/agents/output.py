"""What PowerShell printed, as the value the script returned or the typed error it failed with.

A script wrapped by runner.build_script prints one line of JSON: its `$result`, or (exit code 1)
{error, category, fqid, type, inner, hresult}. Anything else (a parse error on stderr, stray
output) is read as well as it can be, and said so.
"""
import json
import re
from dataclasses import dataclass
from html import unescape

from fabric.agents.errors import BadOutput, CmdletError, NotFound, SecondHopDenied

FAILURE_KEYS = {"error", "category", "fqid", "type", "inner", "hresult"}  # what runner.EPILOGUE writes


def interpret(conn, operation, exit_code, stdout: bytes, stderr: bytes, second_hop, not_found_fqids):
    out = stdout.decode("utf-8", errors="replace").lstrip("\ufeff")
    err = _clean_stderr(stderr)
    value, parsed = _last_json_line(out)
    kw = {"target": conn.where, "operation": operation}
    # The wrapper's last line decides, not the exit code: its failure object counts even with exit
    # code 0 (whether `exit 1` inside the script block the bootstrap runs ends powershell.exe with 1 is
    # not something Ferry depends on), and its result line is printed only once the whole script ran,
    # even where powershell.exe then reports 1 because an error the script caught is in $Error.
    failure = parsed and isinstance(value, dict) and "error" in value
    failed = failure and (exit_code != 0 or FAILURE_KEYS <= set(value))
    if failed or (exit_code != 0 and not parsed):
        if parsed and isinstance(value, dict) and "error" in value:
            message = str(value.get("error") or "").strip() or "the script failed without a message"
            identity = _Identity(str(value.get("category") or ""), str(value.get("fqid") or ""),
                                 str(value.get("type") or ""), str(value.get("inner") or ""),
                                 _hresult(value.get("hresult")))
        else:
            message, category, fqid = _parse_error_text(err or out)
            message = message or f"exit code {exit_code}"
            identity = _Identity(category, fqid)
        raise _cmdlet_error(conn, message, identity, second_hop, not_found_fqids, kw)
    if not parsed:
        sample = (out.strip() or err.strip())[:160]
        raise BadOutput(
            f"{conn.where} answered {operation} with output Ferry cannot read (expected one line of JSON, got "
            f"{sample!r}). Something on the machine writes to the output stream (a profile, a module, a "
            f"wrapper); run the operation by hand there to see.",
            **kw,
        )
    return value


# Windows' own identities of "not found" and "access denied", whatever the language of the message:
# the innermost exception's HRESULT (a Win32 error as 0x8007xxxx; winerror.h, "System Error Codes"
# on learn.microsoft.com) or its .NET type. Cluster cmdlets wrap the cluster API's Win32 error in a
# ClusterCmdletException whose FullyQualifiedErrorId is mostly just the cmdlet's name.
NOT_FOUND_HRESULTS = {
    0x80070002: "ERROR_FILE_NOT_FOUND",
    0x80070490: "ERROR_NOT_FOUND",
    0x8007138F: "ERROR_RESOURCE_NOT_FOUND",
    0x80071395: "ERROR_GROUP_NOT_FOUND",
    0x800713B2: "ERROR_CLUSTER_NODE_NOT_FOUND",
}
NOT_FOUND_TYPES = ("System.Management.Automation.ItemNotFoundException",)
ACCESS_DENIED_HRESULT = 0x80070005  # E_ACCESSDENIED
ACCESS_DENIED_TYPES = ("System.UnauthorizedAccessException",)


@dataclass(frozen=True)
class _Identity:
    """What identifies a PowerShell failure, as Windows reports it."""

    category: str = ""
    fqid: str = ""
    exc_type: str = ""
    inner_type: str = ""
    hresult: int | None = None

    @property
    def not_found(self) -> bool:
        return (self.category == "ObjectNotFound" or self.hresult in NOT_FOUND_HRESULTS
                or self.inner_type in NOT_FOUND_TYPES)

    @property
    def denied(self) -> bool:
        fq = self.fqid.lower()
        return (self.category in ("PermissionDenied", "SecurityError") or self.hresult == ACCESS_DENIED_HRESULT
                or self.inner_type in ACCESS_DENIED_TYPES or "unauthorizedaccess" in fq or "accessdenied" in fq)


def _hresult(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value & 0xFFFFFFFF
    return None


def _cmdlet_error(conn, message, identity: _Identity, second_hop, not_found_fqids, kw) -> CmdletError:
    fields = dict(category=identity.category, fqid=identity.fqid, exception_type=identity.exc_type, **kw)
    fq = identity.fqid.lower()
    if fq.startswith("commandnotfoundexception"):
        message += (" The PowerShell module that provides it is not installed on this machine (install the "
                    "role's management tools: Hyper-V, Failover Clustering, WSUS or WDS).")
        return CmdletError(message, **fields)
    # The English words are a last resort, for errors Ferry's wrapper did not catch itself.
    denied = identity.denied or "access is denied" in message.lower()
    if denied and second_hop and conn.transport != "credssp":
        if conn.transport == "kerberos":
            why = (f"{conn.address} received the forwarded Kerberos ticket but may not use it: trust its computer "
                   f"account for delegation in Active Directory (or set up constrained delegation to the other "
                   f"machines)")
        else:
            why = (f"{conn.transport.upper()} logons cannot be delegated: use Kerberos (the machine's WinRM transport) "
                   f"with its computer account trusted for delegation, or tick \"CredSSP for operations that reach "
                   f"other machines\" on its settings (HTTPS with a validated certificate, and "
                   f"Enable-WSManCredSSP -Role Server on the machine)")
        message += (f" This operation reaches other machines from {conn.address} with the Run As account's "
                    f"identity (a second hop); {why}.")
        return SecondHopDenied(message, **fields)
    if identity.not_found or any(fq.startswith(p.lower()) for p in not_found_fqids):
        return NotFound(message, **fields)
    if fq.startswith("clusterrpcconnection") or fq.startswith("clusterendpointnotregistered"):
        message += (" The cluster service could not be reached from this node: check that it runs; when it does, "
                    "this is the second-hop restriction of remote cluster cmdlets "
                    "(use CredSSP or Kerberos delegation).")
    return CmdletError(message, **fields)


def _last_json_line(text: str):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if not line:
            continue
        try:
            return json.loads(line), True
        except ValueError:
            return None, False
    return None, False


_CLIXML_STRING = re.compile(r'<S S="Error">(.*?)</S>', re.S)


def _clean_stderr(stderr: bytes) -> str:
    text = stderr.decode("utf-8", errors="replace")
    if text.startswith("#< CLIXML"):
        parts = _CLIXML_STRING.findall(text)
        text = "".join(unescape(p) for p in parts)
        text = re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)
    return text.strip()


def _parse_error_text(text: str) -> tuple[str, str, str]:
    """PowerShell's formatted error record → (message, category, fully qualified error id)."""
    category = fqid = ""
    match = re.search(r"CategoryInfo\s*:\s*([A-Za-z]+)", text)
    if match:
        category = match.group(1)
    match = re.search(r"FullyQualifiedErrorId\s*:\s*(\S+)", text)
    if match:
        fqid = match.group(1)
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("At line:", "At ", "+ ", "+\t", "~")) or stripped == "+":
            break
        if stripped:
            lines.append(stripped)
    message = " ".join(lines) or (text.strip().splitlines()[0] if text.strip() else "")
    return message[:1000], category, fqid
