"""A small PowerShell interpreter with Windows PowerShell 5.1 semantics for the subset the lab's
simulated hosts answer (see lab/README.md, section "The PowerShell subset").

    from lab.powershell import Cmdlet, CmdletError, PSEnum, run_script
    result = run_script("Get-Thing -Name a | ConvertTo-Json -Compress", {"Get-Thing": Cmdlet(...)})
    result.stdout, result.stderr, result.exit_code
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import CmdletError, CmdletWarning, ParseError, to_clixml
from .interpreter import Interpreter
from .invoke import Cmdlet
from .parser import parse
from .values import LOCAL, Hashtable, PSEnum, PSObject

__all__ = ["Cmdlet", "CmdletError", "CmdletWarning", "Hashtable", "LOCAL", "PSEnum", "PSObject",
           "ScriptResult", "run_script"]


@dataclass
class ScriptResult:
    stdout: str          # what powershell.exe writes to stdout (CRLF line ends)
    stderr: str          # CLIXML (``#< CLIXML``...) as powershell.exe writes it when redirected
    exit_code: int


def run_script(script: str, cmdlets: Mapping[str, Cmdlet], context=None, *,
               variables: Mapping[str, object] | None = None,
               env: Mapping[str, str] | None = None, sleep=time.sleep) -> ScriptResult:
    """Run ``script`` as ``powershell -EncodedCommand`` would on a host offering ``cmdlets``.

    ``context`` is handed to every cmdlet function; ``variables`` seeds script variables,
    ``env`` the ``$env:`` drive; ``sleep`` is what Start-Sleep calls (the lab scales time).
    A cmdlet in ``cmdlets`` overrides a built-in command of the same name.
    """
    try:
        tree = parse(script)
    except ParseError as exc:
        return ScriptResult("", to_clixml([("Error", "\n".join(exc.lines()))]), 1)
    interp = Interpreter(script, cmdlets, context, variables, env, sleep)
    exit_code = interp.run(tree)
    stdout = "".join(line + "\r\n" for line in interp.stdout)
    stderr = to_clixml(interp.streams) if interp.streams else ""
    return ScriptResult(stdout, stderr, exit_code)
