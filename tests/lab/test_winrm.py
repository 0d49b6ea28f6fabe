"""The lab's WinRM endpoints, driven by pywinrm exactly as Ferry's agents drive Windows hosts."""
import base64
import json
import socket
import threading

import pytest
import requests
import winrm
from winrm.exceptions import InvalidCredentialsError, WSManFaultError

from lab.powershell import Cmdlet, PSObject, run_script
from lab.winrm import WinRMEndpoint, make_certificates

ACCOUNTS = {"labadmin": "S3cret:pass"}
AUTH = ("labadmin", "S3cret:pass")
CMDLETS = {"Get-LabHost": Cmdlet("Get-LabHost",
                                 lambda context, Name=None: PSObject({"Name": Name or "hv1", "Up": True}),
                                 {"Name": "value"}, ("Name",), type_name="Lab.GetLabHostCommand")}


def execute(script, stdin=None):
    return run_script(script, CMDLETS, variables=None if stdin is None else {"input": stdin})


def encoded(script: str) -> str:
    return "powershell -NoProfile -NonInteractive -EncodedCommand " + base64.b64encode(
        script.encode("utf-16-le")).decode()


# reads its script from stdin and runs it as one block, as Ferry's runner does
STDIN_BOOTSTRAP = encoded("$ErrorActionPreference = 'Stop'\n& ([ScriptBlock]::Create(($input | Out-String)))")


@pytest.fixture
def endpoints():
    started = []

    def make(**kwargs):
        kwargs.setdefault("credentials", ACCOUNTS)
        ep = WinRMEndpoint("127.0.0.1", 0, execute=execute, **kwargs)
        ep.start()
        started.append(ep)
        return ep

    yield make
    for ep in started:
        ep.close()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("pki"), ["127.0.0.1", "localhost"])


def session(ep, transport="basic", auth=AUTH, **kwargs):
    return winrm.Session(ep.url, auth=auth, transport=transport, **kwargs)


class Relay:
    """A TCP relay that records every byte the client and the server exchange."""

    def __init__(self, port: int):
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.traffic = bytearray()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while data := source.recv(65536):
                with self.lock:
                    self.traffic += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def test_basic_over_http_runs_a_script(endpoints):
    ep = endpoints(auth=("basic",))
    result = session(ep).run_ps(
        "$ProgressPreference='SilentlyContinue'; Get-LabHost -Name hv7 | ConvertTo-Json -Compress"
    )
    assert result.status_code == 0 and result.std_err == b""
    assert json.loads(result.std_out) == {"Name": "hv7", "Up": True}


def test_ntlm_seals_every_message(endpoints):
    ep = endpoints()
    relay = Relay(ep.port)
    try:
        client = winrm.Session(f"http://127.0.0.1:{relay.port}/wsman", auth=AUTH, transport="ntlm")
        result = client.run_ps("(Get-LabHost).Name + ' via ntlm'")
    finally:
        relay.close()
    assert result.status_code == 0 and result.std_out == b"hv1 via ntlm\r\n"
    assert client.protocol.transport.encryption is not None
    traffic = bytes(relay.traffic)
    assert b"multipart/encrypted" in traffic and b"Negotiate TlRMTVNTUA" in traffic
    assert b"Envelope" not in traffic and b"encodedcommand" not in traffic.lower()
    assert ep.stats["encrypted"] >= 5


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_https_with_the_lab_certificate_authority(endpoints, certificates, transport):
    ca, cert, key = certificates
    ep = endpoints(tls=(cert, key))
    assert ep.url.startswith("https://")
    result = session(ep, transport, ca_trust_path=ca).run_ps("'over tls'")
    assert result.std_out == b"over tls\r\n"
    with pytest.raises(requests.exceptions.SSLError):
        session(ep, transport, ca_trust_path=None).run_ps("'untrusted'")


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
@pytest.mark.parametrize("auth", [("labadmin", "wrong"), ("intruder", "S3cret:pass")])
def test_wrong_credentials_get_401(endpoints, transport, auth):
    ep = endpoints()
    with pytest.raises(InvalidCredentialsError):
        session(ep, transport, auth=auth).run_ps("'never runs'")
    assert ep.stats["unauthorized"] >= 1


def test_a_stopped_endpoint_refuses_connections_and_a_restarted_one_serves_again(endpoints):
    ep = endpoints()
    url = ep.url
    ep.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        session(ep).run_ps("'down'")
    ep.start()
    assert ep.url == url
    assert session(ep, "ntlm").run_ps("'back'").std_out == b"back\r\n"


def test_a_restarted_host_has_forgotten_its_shells(endpoints):
    ep = endpoints()
    protocol = winrm.Protocol(ep.url, transport="basic", username=AUTH[0], password=AUTH[1])
    shell = protocol.open_shell()
    ep.stop()
    ep.start()
    with pytest.raises(WSManFaultError) as fault:
        protocol.run_command(shell, "powershell -encodedcommand JwB4ACcA")
    assert fault.value.wsman_fault_code == 2150858843


def test_a_command_outlasting_the_operation_timeout_completes(endpoints):
    ep = endpoints()
    client = session(ep, "ntlm", operation_timeout_sec=1, read_timeout_sec=3)
    result = client.run_ps("Start-Sleep -Seconds 4; 'finished after the sleep'")
    assert result.status_code == 0 and result.std_out == b"finished after the sleep\r\n"
    assert ep.stats["operation_timeout"] >= 2


def test_unknown_cmdlets_and_uncaught_errors_reach_std_err_with_exit_code_1(endpoints):
    ep = endpoints()
    result = session(ep).run_ps("$ProgressPreference='SilentlyContinue'\nGet-Nope -Name x")
    assert result.status_code == 1
    assert result.std_err.startswith(b"Get-Nope : The term 'Get-Nope' is not recognized as the name of a cmdlet")
    assert b"CommandNotFoundException" in result.std_err
    result = session(ep).run_ps("Get-LabHost -Bogus 1")
    assert result.status_code == 1
    assert b"A parameter cannot be found that matches parameter name 'Bogus'." in result.std_err
    result = session(ep, "ntlm").run_ps("throw 'evacuation failed'")
    assert result.status_code == 1 and result.std_err.startswith(b"evacuation failed\nAt line:1 char:1")


def test_other_programs_are_not_found_like_cmd_exe(endpoints):
    ep = endpoints()
    result = session(ep).run_cmd("ipconfig", ["/all"])
    assert result.status_code == 1
    assert result.std_err == (b"'ipconfig' is not recognized as an internal or external command,\r\n"
                              b"operable program or batch file.\r\n")


def test_large_output_arrives_whole_over_several_receives(endpoints):
    ep = endpoints()
    result = session(ep, "ntlm").run_ps("'x' * 400000")
    assert result.std_out == b"x" * 400000 + b"\r\n"


def test_http500_fault(endpoints):
    ep = endpoints()
    ep.fault = "http500"
    with pytest.raises(WSManFaultError) as fault:
        session(ep, "ntlm").run_ps("'x'")
    assert fault.value.code == 500
    ep.fault = None
    assert session(ep, "ntlm").run_ps("'healthy'").std_out == b"healthy\r\n"
    with pytest.raises(ValueError):
        ep.fault = "meltdown"


def test_timeout_fault_leaves_requests_unanswered(endpoints):
    ep = endpoints()
    ep.fault = "timeout"
    with pytest.raises(requests.exceptions.ReadTimeout):
        session(ep, operation_timeout_sec=1, read_timeout_sec=2).run_ps("'x'")
    ep.fault = None
    assert session(ep).run_ps("'answering again'").std_out == b"answering again\r\n"


def test_idle_endpoints_hold_no_threads(endpoints):
    endpoints()                                  # the shared accept loop exists from here on
    before = threading.active_count()
    many = [endpoints() for _ in range(100)]
    assert threading.active_count() == before
    assert session(many[-1]).run_ps("'the last of many'").std_out == b"the last of many\r\n"


def run_on_stdin(protocol, shell, script: bytes, chunk: int = 1 << 20, console_mode_stdin=False):
    command = protocol.run_command(shell, STDIN_BOOTSTRAP, console_mode_stdin=console_mode_stdin)
    for offset in range(0, len(script), chunk):
        protocol.send_command_input(shell, command, script[offset:offset + chunk], end=offset + chunk >= len(script))
    return protocol.get_command_output(shell, command)


def test_a_script_sent_on_stdin_runs_whole_with_blank_lines_and_utf8(endpoints):
    ep = endpoints()
    protocol = winrm.Protocol(ep.url, transport="ntlm", username=AUTH[0], password=AUTH[1])
    shell = protocol.open_shell(codepage=65001)
    filler = "".join(f"$pad{i} = '{'p' * 60}'\n" for i in range(200))     # far beyond 8,191 characters
    script = ("$ProgressPreference = 'SilentlyContinue'\n" + filler + "$names = @()\nforeach ($n in 'hv1', 'hv2') {\n\n"
              "    $names += (Get-LabHost -Name $n).Name\n\n}\n"
              "if ($names.Count -eq 2) {\n    \"got $($names -join ',') – Zürich\"\n}\nexit 3\n")
    out, err, code = run_on_stdin(protocol, shell, script.encode("utf-8"), chunk=4096)
    assert (out.decode("utf-8"), err, code) == ("got hv1,hv2 – Zürich\r\n", b"", 3)
    protocol.close_shell(shell)


def test_stdin_is_a_stream_that_ends_once(endpoints):
    ep = endpoints()
    protocol = winrm.Protocol(ep.url, transport="basic", username=AUTH[0], password=AUTH[1])
    shell = protocol.open_shell()
    command = protocol.run_command(shell, STDIN_BOOTSTRAP, console_mode_stdin=False)
    protocol.send_command_input(shell, command, b"'one'", end=True)
    with pytest.raises(WSManFaultError, match="already closed"):
        protocol.send_command_input(shell, command, b"'two'", end=True)
    assert protocol.get_command_output(shell, command) == (b"one\r\n", b"", 0)
    with pytest.raises(WSManFaultError, match="was not found"):
        protocol.send_command_input(shell, "0A5E0000-0000-0000-0000-000000000000", b"'x'", end=True)


def test_stdin_in_console_mode_is_not_script_input(endpoints):
    ep = endpoints()
    protocol = winrm.Protocol(ep.url, transport="basic", username=AUTH[0], password=AUTH[1])
    shell = protocol.open_shell()
    assert run_on_stdin(protocol, shell, b"'from stdin'", console_mode_stdin=True) == (b"", b"", 0)


def test_a_command_line_over_8191_characters_is_refused_like_cmd_exe(endpoints):
    ep = endpoints()
    protocol = winrm.Protocol(ep.url, transport="basic", username=AUTH[0], password=AUTH[1])
    shell = protocol.open_shell()
    prefix = "powershell -NoProfile -Command \"'"
    for length, expected in ((8191, (b"x" * (8191 - len(prefix) - 2) + b"\r\n", b"", 0)),
                             (8192, (b"", b"The command line is too long.\r\n", 1))):
        line = prefix + "x" * (length - len(prefix) - 2) + "'\""
        assert len(line) == length
        command = protocol.run_command(shell, line)
        assert protocol.get_command_output(shell, command) == expected
    # what pywinrm's run_ps sends for a script of ~3,100 characters
    result = session(ep).run_ps("'" + "y" * 3100 + "'")
    assert (result.status_code, result.std_err) == (1, b"The command line is too long.\r\n")
