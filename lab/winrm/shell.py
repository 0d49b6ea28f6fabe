"""Remote shells and the commands running in them (one thread per running command)."""
from __future__ import annotations

import base64
import binascii
import logging
import re
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


# cmd.exe refuses a longer command line ("The command line is too long.", exit code 1); WinRS
# starts every command through cmd.exe unless the client asks WINRS_SKIP_CMD_SHELL. Without cmd,
# CreateProcess takes at most 32,767 characters including the terminating NUL.
CMD_LINE_LIMIT = 8191
CREATE_PROCESS_LIMIT = 32766
_READS_STDIN = re.compile(r"\$input\b", re.I)


def stdin_lines(data: bytes, encoding: str) -> list[str]:
    """Standard input as a .NET TextReader.ReadLine loop sees it (what ``$input`` enumerates)."""
    text = data.decode(encoding, "replace")
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


class CommandLineTooLong(Exception):
    """CreateProcess refused the command line (only when the client skipped cmd.exe)."""


class RunningCommand:
    """One command of a shell. A command whose script reads ``$input`` starts only once the
    client has closed its stdin (Send with ``End="true"``), as ``$input`` blocks until then."""

    def __init__(self, execute, command_line: str, encoding: str, *, via_cmd: bool = True,
                 console_stdin: bool = True):
        self.id = str(uuid.uuid4()).upper()
        self.encoding = encoding
        self.done = threading.Event()
        self.stdout = b""
        self.stderr = b""
        self.exit_code: int | None = None
        self.sent_out = 0
        self.sent_err = 0
        self.abandoned = False
        self.console_stdin = console_stdin
        self.stdin = bytearray()
        self.stdin_closed = threading.Event()
        if not via_cmd and len(command_line) > CREATE_PROCESS_LIMIT:
            raise CommandLineTooLong(command_line[:40])
        if via_cmd and len(command_line) > CMD_LINE_LIMIT:
            self._finish("", "The command line is too long.\r\n", 1)
            return
        script = script_from_command_line(command_line)
        if script is None:
            name = command_line.split()[0] if command_line.split() else command_line
            self._finish("", f"'{name}' is not recognized as an internal or external command,\r\n"
                             f"operable program or batch file.\r\n", 1)
            return
        threading.Thread(target=self._run, args=(execute, script), daemon=True,
                         name=f"winrm-command-{self.id[:8]}").start()

    def send(self, data: bytes, end: bool) -> None:
        """Input from a WS-Man Send (callers refuse a Send after the stream ended)."""
        self.stdin.extend(data)
        if end:
            self.stdin_closed.set()

    def abandon(self) -> None:
        self.abandoned = True
        self.stdin_closed.set()

    def _run(self, execute, script: str):
        try:
            if _READS_STDIN.search(script):
                # A console stdin (WINRS_CONSOLEMODE_STDIN) is not redirected: $input stays empty.
                # Unconfirmed on Windows; the stricter reading.
                if not self.stdin_closed.wait(SHELL_IDLE_SECONDS) or self.abandoned:
                    return
                lines = [] if self.console_stdin else stdin_lines(bytes(self.stdin), self.encoding)
                result = execute(script, stdin=lines)
            else:
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
