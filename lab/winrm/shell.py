"""Remote shells and the commands running in them (one thread per running command)."""
from __future__ import annotations

import base64
import binascii
import logging
import shlex
import threading
import time
import uuid

log = logging.getLogger("lab.winrm")

# Raw bytes of output per Receive response: base64 of this stays well under pywinrm's
# MaxEnvelopeSize of 153600, so large outputs take several Receives, as on Windows.
CHUNK = 96 * 1024
SHELL_IDLE_SECONDS = 900


def codec(codepage: str | None) -> str:
    return {"65001": "utf-8", "437": "cp437", "1252": "cp1252", "850": "cp850"}.get(
        (codepage or "437").strip(), "cp437")


def script_from_command_line(line: str) -> str | None:
    """The PowerShell script a ``powershell -EncodedCommand ...`` (or ``-Command``) line runs;
    None when the line does not start PowerShell."""
    try:
        words = shlex.split(line, posix=False)
    except ValueError:
        words = line.split()
    if not words or words[0].strip('"').lower().rsplit("\\", 1)[-1] not in ("powershell", "powershell.exe"):
        return None
    i = 1
    while i < len(words):
        word = words[i].lower()
        if word.startswith("-") and "-encodedcommand".startswith(word) and len(word) >= 2 and i + 1 < len(words):
            try:
                return base64.b64decode(words[i + 1]).decode("utf-16-le")
            except (binascii.Error, UnicodeDecodeError):
                return ""
        if word in ("-command", "-c") and i + 1 < len(words):
            text = " ".join(words[i + 1:])
            return text[1:-1] if len(text) > 1 and text[0] == text[-1] == '"' else text
        if word in ("-executionpolicy", "-ep", "-outputformat", "-inputformat", "-windowstyle", "-version"):
            i += 2
            continue
        i += 1
    return ""


class RunningCommand:
    def __init__(self, execute, command_line: str, encoding: str):
        self.id = str(uuid.uuid4()).upper()
        self.encoding = encoding
        self.done = threading.Event()
        self.stdout = b""
        self.stderr = b""
        self.exit_code: int | None = None
        self.sent_out = 0
        self.sent_err = 0
        self.abandoned = False
        script = script_from_command_line(command_line)
        if script is None:
            name = command_line.split()[0] if command_line.split() else command_line
            self._finish("", f"'{name}' is not recognized as an internal or external command,\r\n"
                             f"operable program or batch file.\r\n", 1)
            return
        threading.Thread(target=self._run, args=(execute, script), daemon=True,
                         name=f"winrm-command-{self.id[:8]}").start()

    def _run(self, execute, script: str):
        try:
            result = execute(script)
            self._finish(result.stdout, result.stderr, int(result.exit_code))
        except Exception:
            log.exception("a script failed inside the lab")
            self._finish("", "The lab failed to run the command (see the lab's log).\r\n", 1)

    def _finish(self, stdout: str, stderr: str, exit_code: int):
        self.stdout = (stdout or "").encode(self.encoding, "replace")
        self.stderr = (stderr or "").encode(self.encoding, "replace")
        self.exit_code = exit_code
        self.done.set()

    def next_chunk(self) -> tuple[bytes, bytes, bool]:
        """(stdout, stderr, finished) for one Receive response of a finished command."""
        budget = CHUNK
        out = self.stdout[self.sent_out:self.sent_out + budget]
        self.sent_out += len(out)
        budget -= len(out)
        err = self.stderr[self.sent_err:self.sent_err + budget]
        self.sent_err += len(err)
        finished = self.sent_out >= len(self.stdout) and self.sent_err >= len(self.stderr)
        return out, err, finished


class Shell:
    def __init__(self, owner: str, codepage: str | None):
        self.id = str(uuid.uuid4()).upper()
        self.owner = owner
        self.encoding = codec(codepage)
        self.commands: dict[str, RunningCommand] = {}
        self.touched = time.monotonic()

    def idle(self) -> bool:
        busy = any(not c.done.is_set() for c in self.commands.values())
        return not busy and time.monotonic() - self.touched > SHELL_IDLE_SECONDS
