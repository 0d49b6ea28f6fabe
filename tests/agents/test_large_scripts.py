"""The largest script of each operation goes through the lab whole: scripts travel on stdin, so
none meets cmd.exe's 8,191-character command-line limit that -EncodedCommand used to hit."""
import base64

import pytest

from fabric import agents
from fabric.agents import runner
from tests.agents.conftest import connection
from tests.lab.unattend import answer_file

pytestmark = pytest.mark.lab
NICS, VMS, UPDATES = 24, 60, 50


def topology() -> str:
    nics = ", ".join(f'{{ name = "Ethernet {i}", mac = "00-15-5D-B0-00-{i:02X}" }}' for i in range(1, NICS + 1))
    vms = ", ".join(f'{{ name = "big-vm{i:02d}", memory_gb = 0.5, highly_available = false }}' for i in range(VMS))
    updates = "".join(
        f'\n[[updates]]\nkb = "{5060000 + i}"\ntitle = "2025-01 Update {i} for Windows Server 2022 (KB{5060000 + i})"\n'
        f'classification = "Updates"\nrelease_date = 2025-01-14\napplies_to = ["2022"]\n'
        for i in range(UPDATES))
    missing = ", ".join(f'"{5060000 + i}"' for i in range(UPDATES))
    return f"""
[lab]
name = "large"
domain = "contoso.com"
speed = 100.0

[defaults]
winrm_username = "CONTOSO\\\\svc-ferry"
winrm_password = "Large-Lab-Passw0rd!"
winrm_transport = "ntlm"
bmc = false
memory_gb = 256.0
cpus = 32
install_base_seconds = 1.0
install_per_update_seconds = 0.1
scan_seconds = 0.5

[[hosts]]
name = "L-BIG"
os = "2022"
nics = [{nics}]
vms = [{vms}]
missing_updates = [{missing}]

[deployment_server]
name = "LWDS"
os = "2022"
credssp = true              # -JoinDomain reaches a domain controller: the second hop
images = [{{ name = "Windows Server 2022 SERVERDATACENTER", os = "2022", group = "WS2022" }}]
{updates}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from lab.testing import LabProcess

    path = tmp_path_factory.mktemp("large") / "large.toml"
    path.write_text(topology())
    with LabProcess(path, speed=100) as running:
        yield running
        running.assert_invariants_held()


@pytest.fixture
def sent(monkeypatch):
    """The text of every script the agents send."""
    scripts = []
    build = runner.build_script

    def recording(body):
        scripts.append(build(body))
        return scripts[-1]

    monkeypatch.setattr(runner, "build_script", recording)
    return scripts


def encoded_length(script: str) -> int:
    """What the command line of `powershell -EncodedCommand <script>` would measure."""
    return len("powershell -NoProfile -NonInteractive -EncodedCommand ") + len(
        base64.b64encode(script.encode("utf-16-le")))


def test_inventory_of_a_host_with_many_nics_and_vms(lab, sent):
    facts = agents.hostinfo.get_host_facts(connection(lab, "L-BIG"))
    assert len(facts.adapters) == NICS and len(facts.vms) == VMS
    assert {vm.name for vm in facts.vms} == {f"big-vm{i:02d}" for i in range(VMS)}
    assert encoded_length(sent[-1]) > runner.COMMAND_LINE_LIMIT


def test_install_of_fifty_updates(lab, sent):
    conn = connection(lab, "L-BIG")
    missing = agents.updates.scan_updates(conn)
    assert len(missing) == UPDATES
    result = agents.updates.install_updates(conn, [u.update_id for u in missing], timeout=600)
    assert result.hresult == 0 and len(result.installed) == UPDATES
    assert encoded_length(sent[-1]) > runner.COMMAND_LINE_LIMIT
    assert agents.updates.scan_updates(conn) == []


def test_deployment_staging_with_its_answer_file(lab, sent):
    wds = connection(lab, "LWDS", credssp_second_hop=True)
    unattend = answer_file("HV22-NEW01", "00-15-5D-B0-01-01", "10.0.0.41", gateway="10.0.0.1", dns="10.0.0.2")
    staged = agents.deployment.stage_deployment(
        wds, mac="00-15-5D-B0-01-01", device_name="HV22-NEW01", remote_install="D:\\RemoteInstall",
        answer_file=unattend, join_domain=True, domain="contoso.com")
    assert staged.device_name == "HV22-NEW01"
    assert encoded_length(sent[-1]) > runner.COMMAND_LINE_LIMIT
    path = "D:\\RemoteInstall\\" + agents.deployment.answer_file_name("00-15-5D-B0-01-01")
    code, written, _ = lab.run_ps("LWDS", f"Get-Content -Path '{path}' -Raw")
    # whole; its lines end in CRLF now, as stdin's lines are joined with Windows' newline
    assert code == 0 and written.strip().splitlines() == unattend.strip().splitlines()
