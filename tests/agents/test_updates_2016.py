"""Against the lab: Windows Update on a Server 2016 host (build 14393), through
MSFT_WUOperationsSession, where a failure is in HResult (ReturnValue stays 0) and a restart is known
only from the pending-reboot check; and the WSUS catalog read with the UpdateServices API's names."""
import pytest

from fabric import agents
from lab.testing import lab_fixture

from .conftest import connection

pytestmark = pytest.mark.lab
lab = lab_fixture("tests", speed=100.0, scope="function")
HOST = "T16-SA1"


def test_a_2016_host_is_scanned_through_the_session_class(lab):
    scan = agents.updates.scan_compliance(connection(lab, HOST))
    assert [u.kb for u in scan.missing] == ["5048671"] and scan.missing[0].msrc_severity == "Critical"
    assert scan.pending_reboot is False
    events = [e for e in lab.control("GET", "/events")["events"] if e["event"] == "wu-scan"]
    assert events and events[-1]["host"] == HOST


def test_an_install_on_2016_needs_a_restart_from_the_pending_reboot_check(lab):
    conn = connection(lab, HOST)
    result = agents.updates.install_updates(conn, ["KB5048671"])
    assert len(result.installed) == 1 and result.reboot_required is True
    assert agents.hostinfo.is_pending_reboot(conn) is True
    assert agents.updates.scan_compliance(conn).missing == []
    assert "5048671" in agents.updates.get_installed_updates(conn).kbs


def test_a_failed_install_on_2016_is_a_failed_install(lab):
    conn = connection(lab, HOST)
    lab.fault("update_install_fails", host=HOST, hresult="0x80070643", count=1)
    with pytest.raises(agents.updates.UpdateInstallFailed) as info:
        agents.updates.install_updates(conn, ["KB5048671"])
    assert info.value.hresult == 0x80070643 and "ERROR_INSTALL_FAILURE" in str(info.value)
    assert f"Installing updates on {conn.where} failed: 0x80070643" in str(info.value)
    assert agents.hostinfo.is_pending_reboot(conn) is False
    assert [u.kb for u in agents.updates.scan_updates(conn)] == ["5048671"]  # still missing


def test_the_2019_class_is_refused_on_2016_and_the_2016_class_on_2019(lab):
    code, _, err = lab.run_ps(HOST, "Invoke-CimMethod -Namespace root/Microsoft/Windows/WindowsUpdate "
                                    "-ClassName MSFT_WUOperations -MethodName ScanForUpdates "
                                    "-Arguments @{SearchCriteria='IsInstalled=0'}")
    assert code == 1 and "Invalid class" in err and "HRESULT 0x80041010" in err and "MetadataError" in err
    code, _, err = lab.run_ps("T19-N1", "New-CimInstance -Namespace root/Microsoft/Windows/WindowsUpdate "
                                        "-ClassName MSFT_WUOperationsSession")
    assert code == 1 and "Invalid class" in err and "NewCimInstanceCommand" in err


def test_the_wsus_catalog_names_superseding_updates_by_id(lab):
    wsus = connection(lab, "TWSUS")
    assert agents.wsus.get_wsus_server(wsus).use_ssl is False  # IsConnectionSecureForApiRemoting over HTTP
    catalog = {u.kb: u for u in agents.wsus.get_wsus_updates(wsus)}
    assert catalog["5046615"].is_superseded and catalog["5046615"].superseded_by == [catalog["5048661"].update_id]
    assert catalog["5048661"].superseded_by == []  # never the text "None"
    assert catalog["5049983"].msrc_severity == "" and catalog["5048671"].msrc_severity == "Critical"


def test_the_session_class_takes_the_update_objects_a_scan_returned_not_kb_numbers(lab):
    script = ("$s = New-CimInstance -Namespace root/Microsoft/Windows/WindowsUpdate "
              "-ClassName MSFT_WUOperationsSession\n"
              "Invoke-CimMethod -InputObject $s -MethodName InstallUpdates -Arguments @{Updates=@('KB5048671')}")
    code, _, err = lab.run_ps(HOST, script)
    assert code == 1 and "HRESULT 0x8004102f" in err
    assert next(h for h in lab.state()["hosts"] if h["name"] == HOST)["missing_updates"] == ["5048671"]
