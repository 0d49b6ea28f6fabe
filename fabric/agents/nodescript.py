"""Run an administrator's script (the node script library) on a machine and keep what it printed.

The script travels like every other one (runner.run_script: on stdin, wrapped): its text is one
single-quoted literal turned into a script block there, so nothing in it can end the wrapper or
be read as Ferry's own code, and a script that does not parse fails as a thrown error would.
(The result has no `error` key: that is the wrapper's failure object, output.interpret.)
What it writes to the output and error streams is collected as text; an error it throws (or
writes: $ErrorActionPreference is Stop) is returned beside the output collected until then.
"""
from __future__ import annotations

from dataclasses import dataclass

from fabric.agents.connection import Connection
from fabric.agents.quoting import ps_str
from fabric.agents.runner import run_script

OUTPUT_LIMIT = 4000   # characters of output kept for the job log (the end is what explains a failure)


@dataclass(frozen=True)
class ScriptRun:
    output: str
    error: str   # "" when the script ran to its end

    @property
    def failed(self) -> bool:
        return bool(self.error)


def _tail(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    return f"[first {len(text) - OUTPUT_LIMIT} characters left out]\n" + text[-OUTPUT_LIMIT:]


def run_node_script(conn: Connection, name: str, body: str, timeout: float) -> ScriptRun:
    """Run `body` on `conn`; raises OperationTimeout past `timeout` seconds (the script is stopped),
    CmdletError when the script does not parse or exits with a non-zero code, other AgentErrors
    when the machine cannot be reached."""
    script = f"""$ferryScript = [ScriptBlock]::Create({ps_str(body, multiline=True, what='script')})
$ferryLines = @()
$ferryError = ''
try {{ & $ferryScript 2>&1 | ForEach-Object {{ $ferryLines += [string]$_ }} }}
catch {{ $ferryError = [string]$_.Exception.Message }}
if (-not $ferryError -and $LASTEXITCODE) {{
    $ferryError = "the last program it ran ended with exit code $LASTEXITCODE"
}}
$result = @{{ output = ($ferryLines -join "`n"); thrown = $ferryError }}
"""
    answer = run_script(conn, script, operation=f"node script {name}", timeout=timeout,
                        idempotent=False) or {}
    return ScriptRun(_tail(str(answer.get("output") or "").strip()), str(answer.get("thrown") or "").strip())
