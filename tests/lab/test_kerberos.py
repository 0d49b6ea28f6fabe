"""Kerberos against the lab's real MIT KDC, CredSSP, and the second hop: what a logon may do on a
third machine depends on how it was made, as on Windows."""
import json

import pytest

from lab.kdc import missing_for_kerberos
from tests.helpers import require

IDIOM = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; "
SPARE_MAC = "00-15-5D-71-00-99"

# operations that act on another machine with the caller's identity
SECOND_HOP = {
    "Add-ClusterNode": ("T19-N1", "Add-ClusterNode -Name T-SPARE -NoStorage"),
    "Remove-ClusterNode": ("T19-N1", "Remove-ClusterNode -Name T19-N3 -Force"),
    "New-WdsClient -JoinDomain": ("TWDS", f"New-WdsClient -DeviceID '{SPARE_MAC}' -DeviceName T22-N9 "
                                          f"-JoinDomain $true -Domain contoso.com"),
}
AD_QUERY = ("TWDS", "Get-ADComputer -Identity HV-OLD01")


def error_of(script: str) -> str:
    """The script, answering what PowerShell reports about its failure as JSON (or 'ok')."""
    return (IDIOM + "try { $null = " + script + "; 'ok' } catch { ConvertTo-Json -Compress -InputObject @{ "
            "Category = [string]$_.CategoryInfo.Category; Id = [string]$_.FullyQualifiedErrorId; "
            "Type = $_.Exception.GetType().FullName; Message = $_.Exception.Message } }")


def outcome(result) -> dict | str:
    assert result.status_code == 0, result.std_err
    text = result.std_out.decode().strip()
    return text if text == "ok" else json.loads(text)


def assert_access_denied(answer, cmdlet_type: str = ""):
    assert isinstance(answer, dict), f"the second hop was allowed: {answer!r}"
    assert answer["Category"] == "PermissionDenied"
    assert answer["Type"] == "System.UnauthorizedAccessException"
    assert answer["Id"].startswith("UnauthorizedAccess,") and cmdlet_type in answer["Id"]
    assert "Access is denied" in answer["Message"]


@pytest.fixture(scope="module")
def kdc_lab(lab):
    missing = missing_for_kerberos()
    require(not missing, f"Kerberos is not installed ({', '.join(missing)} missing; apt-get install krb5-kdc "
                         f"krb5-admin-server libkrb5-dev, then pip install '.[kerberos]')")
    assert lab.endpoints["kerberos"], lab.endpoints["kerberos_unavailable"]
    return lab


def test_the_endpoints_file_names_the_realm_and_the_run_as_principal(kdc_lab):
    kerberos = kdc_lab.endpoints["kerberos"]
    assert kerberos["realm"] == "CONTOSO.COM"
    assert kerberos["principal"] == "svc-ferry@CONTOSO.COM"
    assert kerberos["password"] == kdc_lab.entry("T19-N1")["winrm"]["password"]
    with open(kerberos["krb5_config"]) as config:
        assert f"kdc = {kerberos['kdc']}" in config.read()
    assert "kerberos" in kdc_lab.entry("T19-N1")["winrm"]["auth"]


@pytest.mark.parametrize("https", [False, True], ids=["http-sealed", "https"])
def test_a_ticket_from_the_kdc_opens_a_shell(kdc_lab, https):
    session = kdc_lab.kerberos_session("T19-N2", https=https)
    result = session.run_ps("$env:COMPUTERNAME")
    assert (result.status_code, result.std_out.decode().strip()) == (0, "T19-N2")


def test_the_kdc_refuses_a_wrong_password(kdc_lab):
    import gssapi
    import gssapi.raw

    kdc_lab.kerberos_session("T19-N2")   # points this process at the lab's krb5.conf
    with pytest.raises(gssapi.exceptions.GSSError):
        gssapi.raw.acquire_cred_with_password(
            gssapi.Name("svc-ferry@CONTOSO.COM", gssapi.NameType.kerberos_principal), b"not-the-password",
            usage="initiate")


@pytest.mark.parametrize("operation", sorted(SECOND_HOP))
def test_ntlm_cannot_take_the_second_hop(lab, operation):
    host, script = SECOND_HOP[operation]
    assert_access_denied(outcome(lab.session(host).run_ps(error_of(script))))


def test_the_directory_cannot_be_asked_without_delegation(lab):
    answer = outcome(lab.session(AD_QUERY[0]).run_ps(error_of(AD_QUERY[1])))
    assert answer["Category"] == "ResourceUnavailable"
    assert answer["Type"] == "Microsoft.ActiveDirectory.Management.ADServerDownException"
    assert answer["Id"].startswith("ActiveDirectoryServer:0,")
    assert "Unable to contact the server" in answer["Message"]


def test_credssp_takes_the_second_hop(lab):
    host, script = AD_QUERY
    assert outcome(lab.session(host, https=True, transport="credssp").run_ps(error_of(script))) == "ok"


def test_credssp_only_where_it_is_enabled_and_only_over_https(lab):
    from requests_credssp.exceptions import AuthenticationException

    with pytest.raises(AuthenticationException):     # T19-N2 has not enabled the CredSSP server role
        lab.session("T19-N2", https=True, transport="credssp").run_ps("1")
    with pytest.raises(AuthenticationException):     # the plain-HTTP listener never offers it
        lab.session("T19-N1", https=False, transport="credssp").run_ps("1")


def test_credssp_refuses_a_wrong_password(lab):
    from requests_credssp.exceptions import NTStatusException

    with pytest.raises(NTStatusException) as refused:
        lab.session("T19-N1", https=True, transport="credssp", password="not-the-password").run_ps("1")
    assert refused.value.status == 0x8009030C     # SEC_E_LOGON_DENIED


def test_kerberos_takes_the_second_hop_only_with_a_forwarded_ticket_to_a_trusted_host(kdc_lab):
    host, script = SECOND_HOP["Add-ClusterNode"]
    # no ticket forwarded: the node cannot act as the account elsewhere
    assert_access_denied(outcome(kdc_lab.kerberos_session(host).run_ps(error_of(script))), "AddClusterNode")
    # T19-N2's computer account is not trusted for delegation: forwarding does not help
    answer = outcome(kdc_lab.kerberos_session("T19-N2", delegate=True).run_ps(
        error_of("Remove-ClusterNode -Name T19-N3 -Force")))
    assert_access_denied(answer, "RemoveClusterNode")
    cluster = next(c for c in kdc_lab.state()["clusters"] if c["name"] == "TCL19")
    assert [n["name"] for n in cluster["nodes"]] == ["T19-N1", "T19-N2", "T19-N3"]


def test_kerberos_with_delegation_evicts_and_adds_a_node(fresh_lab):
    missing = missing_for_kerberos()
    require(not missing, f"Kerberos is not installed ({', '.join(missing)} missing)")
    session = fresh_lab.kerberos_session("T19-N1", delegate=True)
    drained = session.run_ps(IDIOM + "Suspend-ClusterNode -Name T19-N3 -Drain -Wait | Out-Null")
    assert drained.status_code == 0, drained.std_err
    assert outcome(session.run_ps(error_of("Remove-ClusterNode -Name T19-N3 -Force"))) == "ok"
    names = session.run_ps(IDIOM + "(Get-ClusterNode).Name | ConvertTo-Json -Compress")
    assert json.loads(names.std_out) == ["T19-N1", "T19-N2"]
    added = session.run_ps(IDIOM + "Add-ClusterNode -Name T19-N3 | Select-Object Name, "
                                   "@{n='State';e={[string]$_.State}} | ConvertTo-Json -Compress")
    assert json.loads(added.std_out) == {"Name": "T19-N3", "State": "Up"}
    fresh_lab.assert_invariants_held()


def test_without_the_kdc_programs_the_kdc_says_which_packages_to_install(tmp_path, monkeypatch):
    import lab.kdc

    monkeypatch.setattr(lab.kdc, "find_binary", lambda name: None)
    with pytest.raises(lab.kdc.KdcError, match="krb5kdc.*krb5-kdc krb5-admin-server"):
        lab.kdc.Kdc(tmp_path, "CONTOSO.COM", {"u": "p"}, ["h.contoso.com"])


def test_a_failed_kadmin_command_stops_the_kdc_setup_with_its_message(tmp_path):
    import lab.kdc

    missing = missing_for_kerberos()
    require(not missing, f"Kerberos is not installed ({', '.join(missing)} missing)")
    kdc = lab.kdc.Kdc(tmp_path, "CONTOSO.COM", {"error-reporter": "Pw-1 x"}, ["h.contoso.com"]).start()
    try:   # an account whose name says "error" is no failure; a principal created twice is
        with pytest.raises(lab.kdc.KdcError, match="already exists") as failed:
            kdc._kadmin(["addprinc -randkey HTTP/h.contoso.com@CONTOSO.COM"])
        assert "Pw-1 x" not in str(failed.value)
    finally:
        kdc.stop()
