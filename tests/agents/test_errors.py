"""How what PowerShell printed becomes a typed error an operator can act on."""
import json

import pytest

from fabric import agents
from fabric.agents.output import interpret as _interpret

NTLM = agents.Connection("hv01.contoso.com", username="CONTOSO\\svc", password="pw", account="svc")
CREDSSP = agents.Connection("hv01.contoso.com", transport="credssp", username="CONTOSO\\svc", password="pw")


def failure(message, category, fqid, type_="System.Exception") -> bytes:
    return (json.dumps({"error": message, "category": category, "fqid": fqid, "type": type_}) + "\r\n").encode()


def interpret(conn=NTLM, exit_code=1, stdout=b"", stderr=b"", second_hop=False, not_found=()):
    return _interpret(conn, "op", exit_code, stdout, stderr, second_hop, not_found)


def test_missing_object_is_not_found_with_powershells_words():
    out = failure('Hyper-V was unable to find a virtual machine with name "web01".', "InvalidArgument",
                  "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM")
    with pytest.raises(agents.NotFound) as info:
        interpret(stdout=out, not_found=("InvalidParameter,Microsoft.HyperV.PowerShell.Commands",))
    error = info.value
    assert error.category == "InvalidArgument" and error.fqid.startswith("InvalidParameter")
    assert 'unable to find a virtual machine with name "web01"' in str(error) and "hv01" in str(error)


def test_access_denied_on_a_second_hop_says_how_to_allow_delegation():
    out = failure("Access is denied.", "PermissionDenied", "UnauthorizedAccess,Move-ClusterVirtualMachineRole")
    with pytest.raises(agents.SecondHopDenied) as info:
        interpret(stdout=out, second_hop=True)
    assert isinstance(info.value, agents.AccessDenied) and isinstance(info.value, agents.CmdletError)
    assert "CredSSP for operations that reach other machines" in str(info.value)   # the setting to tick
    assert "Kerberos" in str(info.value) and "trusted for delegation" in str(info.value)
    with pytest.raises(agents.CmdletError) as plain:  # with CredSSP already, it is a plain refusal
        interpret(conn=CREDSSP, stdout=out, second_hop=True)
    assert not isinstance(plain.value, agents.SecondHopDenied)


def test_a_missing_module_is_named():
    out = failure("The term 'Get-WsusServer' is not recognized as the name of a cmdlet.", "ObjectNotFound",
                  "CommandNotFoundException")
    with pytest.raises(agents.CmdletError, match="module that provides it is not installed") as info:
        interpret(stdout=out)
    assert not isinstance(info.value, agents.NotFound)


def test_a_parse_error_on_stderr_in_clixml():
    stderr = (b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
              b'<S S="Error">Unexpected token \'}\' in expression or statement._x000D__x000A_</S>'
              b'<S S="Error">    + CategoryInfo          : ParserError: (:) [], ParentContainsErrorRecordException'
              b'_x000D__x000A_</S><S S="Error">    + FullyQualifiedErrorId : UnexpectedToken_x000D__x000A_</S></Objs>')
    with pytest.raises(agents.CmdletError) as info:
        interpret(stderr=stderr)
    assert info.value.fqid == "UnexpectedToken" and info.value.category == "ParserError"
    assert "Unexpected token" in info.value.ps_message


def test_output_that_is_not_json_is_bad_output_and_shows_a_sample():
    with pytest.raises(agents.BadOutput, match="WARNING: 8 objects"):
        interpret(exit_code=0, stdout=b"WARNING: 8 objects were not serialised\r\n{\"Name\":")
    with pytest.raises(agents.BadOutput):
        interpret(exit_code=0, stdout=b"")


def test_stray_lines_before_the_result_are_ignored():
    assert interpret(exit_code=0, stdout=b"What if: Performing the operation\r\n[1,2]\r\n") == [1, 2]


def wrapped_failure(message, category, fqid, type_, inner, hresult) -> bytes:
    """What the wrapper's catch block prints: the innermost exception's type and HRESULT as well."""
    return (json.dumps({"error": message, "category": category, "fqid": fqid, "type": type_, "inner": inner,
                        "hresult": hresult - (1 << 32) if hresult >= 1 << 31 else hresult}) + "\r\n").encode()


def test_a_missing_cluster_node_is_known_by_its_win32_error_not_by_its_words():
    # FailoverClusters reports most failures as NotSpecified with the cmdlet's name as error id;
    # the cluster API's ERROR_CLUSTER_NODE_NOT_FOUND (5042) is what says "not found", in any language.
    out = wrapped_failure("Le nœud de cluster est introuvable.", "NotSpecified",
                          "Get-ClusterNode,Microsoft.FailoverClusters.PowerShell.GetNodeCommand",
                          "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException",
                          "System.ComponentModel.Win32Exception", 0x800713B2)
    with pytest.raises(agents.NotFound) as info:
        interpret(stdout=out)
    assert info.value.exception_type.endswith("ClusterCmdletException") and "introuvable" in str(info.value)
    other = wrapped_failure("An error occurred while moving the clustered role 'vm1'.", "NotSpecified",
                            "Move-ClusterGroup,Microsoft.FailoverClusters.PowerShell.MoveClusterGroupCommand",
                            "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException",
                            "System.ComponentModel.Win32Exception", 0x80071398)
    with pytest.raises(agents.CmdletError) as info:
        interpret(stdout=other)
    assert not isinstance(info.value, agents.NotFound)


def test_access_denied_is_known_by_its_exception_in_any_language():
    out = wrapped_failure("Zugriff verweigert", "NotSpecified",
                          "Add-ClusterNode,Microsoft.FailoverClusters.PowerShell.AddClusterNodeCommand",
                          "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException",
                          "System.UnauthorizedAccessException", 0x80070005)
    with pytest.raises(agents.SecondHopDenied):
        interpret(stdout=out, second_hop=True)


def test_the_wrappers_failure_object_is_an_error_even_with_exit_code_0():
    out = wrapped_failure("The cluster group could not be found.", "NotSpecified",
                          "Get-ClusterGroup,Microsoft.FailoverClusters.PowerShell.GetClusterGroupCommand",
                          "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException",
                          "System.ComponentModel.Win32Exception", 0x80071395)
    with pytest.raises(agents.NotFound):
        interpret(exit_code=0, stdout=out)
    assert interpret(exit_code=0, stdout=b'{"error":"none","Name":"x"}\r\n') == {"error": "none", "Name": "x"}


def test_which_winrm_faults_are_worth_asking_again():
    from winrm.exceptions import WinRMTransportError, WSManFaultError

    from fabric.agents.runner import translate

    def fault(code):
        return WSManFaultError(500, "", "", "reason", wsman_fault_code=code)

    assert translate(fault(2150859177), NTLM, "op").transient            # InternalError: the service failed
    assert translate(fault(2150858843), NTLM, "op").transient            # the shell is gone (it restarted)
    assert not translate(fault(2150858817), NTLM, "op").transient        # the request itself is invalid
    assert translate(WinRMTransportError("http", 503, ""), NTLM, "op").transient
    assert not translate(WinRMTransportError("http", 400, ""), NTLM, "op").transient


def test_a_result_line_is_a_success_even_when_powershell_exits_1():
    """The bootstrap runs the script as one `& {...}` statement: an error the script caught leaves
    $? false there, so powershell.exe may end with 1 after printing the whole result."""
    assert interpret(exit_code=1, stdout=b'[{"Name":"a-vm2"}]\r\n') == [{"Name": "a-vm2"}]
    with pytest.raises(agents.CmdletError):
        interpret(exit_code=1, stdout=b"")  # nothing printed: the exit code is all there is
