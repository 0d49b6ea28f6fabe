"""Options shared by the commands that add a machine by discovery (add_cluster, add_host, ...)."""
from django.core.management.base import CommandError

from core.audit import AuditAction, record
from fabric import agents
from fabric.inventory import InventoryError
from fabric.models import HostGroup, RunAsAccount


def add_connection_arguments(parser) -> None:
    parser.add_argument("address", help="IP address or DNS name to reach the machine at")
    parser.add_argument("--run-as", required=True, metavar="NAME", help="Run As account (see add_runas)")
    parser.add_argument("--port", type=int, help="WinRM port (default 5986, or 5985 with --http)")
    parser.add_argument("--transport", default="ntlm", choices=["ntlm", "kerberos", "credssp", "basic"],
                        help="WinRM authentication (default ntlm)")
    parser.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS (needs --allow-insecure)")
    parser.add_argument("--ca-path", default="", help="CA bundle that issued the WinRM certificate")
    parser.add_argument("--allow-insecure", action="store_true",
                        help="allow Basic authentication or plain HTTP to this machine (labs only)")


def connection_kwargs(options) -> dict:
    try:
        run_as = RunAsAccount.objects.get(name=options["run_as"])
    except RunAsAccount.DoesNotExist:
        raise CommandError(f"There is no Run As account named {options['run_as']!r} (create it with add_runas).")
    return dict(run_as=run_as, port=options["port"], https=not options["http"], transport=options["transport"],
                ca_path=options["ca_path"], allow_insecure=options["allow_insecure"])


def find_host_group(spec: str | None) -> HostGroup | None:
    """A group by path from the root ("All Hosts/London/Rack 1", root name optional) or by unique name."""
    if not spec:
        return None
    parts = [p.strip() for p in spec.strip("/").split("/") if p.strip()]
    root = HostGroup.root()
    if len(parts) > 1 or (parts and parts[0] == root.name):
        group = root
        for part in parts[1:] if parts[0] == root.name else parts:
            group = HostGroup.objects.filter(parent=group, name=part).first()
            if group is None:
                raise CommandError(f"No host group {part!r} on the path {spec!r}.")
        return group
    matches = list(HostGroup.objects.filter(name=parts[0]))
    if not matches:
        raise CommandError(f"No host group named {spec!r}.")
    if len(matches) > 1:
        paths = "; ".join("/".join([a.name for a in g.ancestors()] + [g.name]) for g in matches)
        raise CommandError(f"Several host groups are named {spec!r} ({paths}): give the path from the root.")
    return matches[0]


def run_discovery(command, action, *args, **kwargs):
    """Call a discovery function; any failure becomes a CommandError (non-zero exit, clear message)."""
    try:
        return action(*args, **kwargs)
    except (agents.AgentError, InventoryError, agents.UnsafeArgument) as error:
        # A successful discovery is audited with what it added; a failed one here.
        record(None, AuditAction.ACTION, None, f"discovery from the command line failed: {error}"[:1000],
               object_type="discovery request", object_repr=str(args[0] if args else "")[:200])
        raise CommandError(str(error)) from error


def print_warnings(command, obj) -> None:
    for warning in getattr(obj, "discovery_warnings", []) or []:
        command.stderr.write(command.style.WARNING(f"warning: {warning}"))
