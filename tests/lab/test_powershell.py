"""The lab's PowerShell subset answers the way Windows PowerShell 5.1 does over WinRM."""
import json
import uuid
from datetime import datetime, timezone

import pytest
from winrm import Session

from lab.powershell import Cmdlet, CmdletError, CmdletWarning, PSEnum, PSObject, run_script

AGENT_IDIOM = ("""$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'
try {
  $r = @(Get-ClusterNode -Cluster 'c1' | Select-Object Name, @{n='State';e={[string]$_.State}}, """
               """@{Name='Owner';Expression={$_.OwnerNode.Name}}, NodeWeight)
  ConvertTo-Json -InputObject $r -Depth 4 -Compress
} catch {
  ConvertTo-Json -InputObject @{error=$_.Exception.Message; category=[string]$_.CategoryInfo.Category; """
               """fqid=$_.FullyQualifiedErrorId} -Compress
  exit 1
}
""")
CLIENT = Session("127.0.0.1", auth=("unused", "unused"))   # no connection is made
NODE_TYPE = "Microsoft.FailoverClusters.PowerShell.GetNodeCommand"


def _node(name, state, value, owner="hv2", weight=1):
    return PSObject({"Name": name, "State": PSEnum(value, state), "OwnerNode": PSObject({"Name": owner}, text=owner),
                     "NodeWeight": weight, "Id": uuid.UUID(int=value + 1),
                     "LastBoot": datetime(2012, 1, 13, 8, 0, tzinfo=timezone.utc)}, text=name)


def get_cluster_node(context, Cluster=None, Name=None):
    context.append(("Get-ClusterNode", Cluster, Name))
    if Cluster == "gone":
        raise CmdletError("The cluster service is not running.  Make sure that the service is running on all "
                          "nodes in the cluster.", "ConnectionError", f"ClusterEndpointNotRegistered,{NODE_TYPE}",
                          "Microsoft.FailoverClusters.PowerShell.ClusterCmdletException")
    nodes = [_node("hv1", "Paused", 2), _node("hv2", "Up", 0)]
    return [n for n in nodes if Name is None or n["Name"] in (Name if isinstance(Name, list) else [Name])]


def get_vm(context, Name=None):
    for name in Name if isinstance(Name, list) else [Name or "vm1"]:
        if name == "missing":
            yield CmdletError(f'Hyper-V was unable to find a virtual machine with name "{name}".', "InvalidArgument",
                              "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM",
                              "Microsoft.HyperV.PowerShell.VirtualizationException", target=name)
        else:
            yield PSObject({"Name": name, "State": PSEnum(2, "Running"), "MemoryAssigned": 4 * 2**30})


def suspend_node(context, Name=None, Drain=False, InputObject=None):
    target = InputObject["Name"] if InputObject is not None else Name
    context.append(("Suspend-ClusterNode", target, Drain))
    yield CmdletWarning("Roles were moved.")
    yield _node(target, "Paused", 2)


CMDLETS = {
    "Get-ClusterNode": Cmdlet("Get-ClusterNode", get_cluster_node, {"Cluster": "value", "Name": "value"}, ("Name",),
                              type_name=NODE_TYPE, module="FailoverClusters"),
    "Get-VM": Cmdlet("Get-VM", get_vm, {"Name": "value"}, ("Name",),
                     type_name="Microsoft.HyperV.PowerShell.Commands.GetVM", module="Hyper-V"),
    "Suspend-ClusterNode": Cmdlet("Suspend-ClusterNode", suspend_node,
                                  {"Name": "value", "Drain": "switch", "InputObject": "value"}, ("Name",),
                                  pipeline="InputObject", type_name="Microsoft.FailoverClusters.PowerShell."
                                  "SuspendClusterNodeCommand"),
}


def run(script, calls=None):
    return run_script(script, CMDLETS, context=[] if calls is None else calls)


def out(script):
    result = run(script)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def error_text(stderr: str) -> str:
    """The readable message pywinrm makes of the CLIXML error stream (what run_ps returns)."""
    return CLIENT._clean_error_msg(stderr.encode()).decode()


# -- the agents' idiom --------------------------------------------------------------------------
def test_agent_idiom_returns_selected_properties_as_json():
    calls = []
    result = run(AGENT_IDIOM, calls)
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.stdout) == [
        {"Name": "hv1", "State": "Paused", "Owner": "hv2", "NodeWeight": 1},
        {"Name": "hv2", "State": "Up", "Owner": "hv2", "NodeWeight": 1}]
    assert calls == [("Get-ClusterNode", "c1", None)]


def test_agent_idiom_reports_a_cmdlet_error_as_json_and_exit_1():
    result = run(AGENT_IDIOM.replace("'c1'", "'gone'"))
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "error": "The cluster service is not running.  "
                 "Make sure that the service is running on all nodes in the cluster.",
        "category": "ConnectionError", "fqid": f"ClusterEndpointNotRegistered,{NODE_TYPE}"}


def test_agent_idiom_wraps_a_single_result_in_an_array():
    script = AGENT_IDIOM.replace("-Cluster 'c1'", "-Cluster 'c1' -Name hv2")
    assert json.loads(out(script)) == [{"Name": "hv2", "State": "Up", "Owner": "hv2", "NodeWeight": 1}]


# -- ConvertTo-Json as in 5.1 ----------------------------------------------------------------------
def test_convert_to_json_writes_enums_as_numbers_dates_as_ms_and_guids_as_strings():
    data = json.loads(out("Get-ClusterNode -Name hv1 | ConvertTo-Json -Compress"))
    assert data["State"] == 2
    assert data["Id"] == "00000000-0000-0000-0000-000000000003"
    assert data["LastBoot"] == "/Date(1326441600000)/"
    assert '"\\/Date(1326441600000)\\/"' in out("Get-ClusterNode -Name hv1 | ConvertTo-Json -Compress")


def test_convert_to_json_default_depth_truncates_silently_to_strings():
    assert out("@{a=@{b=@{c=@{d=1}}}} | ConvertTo-Json -Compress") == (
        '{"a":{"b":{"c":"System.Collections.Hashtable"}}}\r\n'
    )
    assert out("[pscustomobject]@{a=[pscustomobject]@{b=[pscustomobject]@{c=[pscustomobject]@{d=1}}}} | "
               "ConvertTo-Json -Compress") == '{"a":{"b":{"c":"@{d=1}"}}}\r\n'
    assert out("@{a=@{b=@{c=@(1,2)}}} | ConvertTo-Json -Compress") == '{"a":{"b":{"c":"1 2"}}}\r\n'
    # a .NET object beyond the depth becomes its ToString(): a cluster node prints its name
    assert json.loads(out("Get-ClusterNode | ConvertTo-Json -Depth 1 -Compress"))[0]["OwnerNode"] == "hv2"


def test_convert_to_json_pipeline_and_input_object_shapes():
    assert json.loads(out("Get-ClusterNode -Name hv1 | ConvertTo-Json -Compress"))["Name"] == "hv1"
    assert isinstance(json.loads(out("ConvertTo-Json -InputObject @(Get-ClusterNode -Name hv1) -Compress")), list)
    assert out("$null | ConvertTo-Json") == ""
    assert out("ConvertTo-Json -InputObject $null") == ""
    assert out("ConvertTo-Json -InputObject @() -Compress") == "[]\r\n"
    assert out("'<b>&''' | ConvertTo-Json") == '"\\u003cb\\u003e\\u0026\\u0027"\r\n'


def test_convert_to_json_indents_like_windows_powershell():
    assert out("[ordered]@{a=1; b=@(1,2); c=@{}} | ConvertTo-Json") == (
        '{\r\n    "a":  1,\r\n    "b":  [\r\n              1,\r\n              2\r\n          ],\r\n'
        '    "c":  {\r\n\r\n          }\r\n}\r\n')


def test_convert_from_json_gives_objects_and_keeps_arrays_whole():
    assert out("('{\"a\":{\"b\":[1,2]}}' | ConvertFrom-Json).a.b[1]") == "2\r\n"
    assert out("'[1,2,3]' | ConvertFrom-Json | Measure-Object | Select-Object -ExpandProperty Count") == "1\r\n"


# -- language -------------------------------------------------------------------------------------
@pytest.mark.parametrize("script, expected", [
    ("'Paused' -eq 'PAUSED'", "True"),
    ("'Paused' -ceq 'PAUSED'", "False"),
    ("(Get-ClusterNode -Name hv1).State -eq 'paused'", "True"),
    ("(Get-ClusterNode -Name hv1).State -eq 2", "True"),
    ("[int](Get-ClusterNode -Name hv1).State", "2"),
    ("'hv01' -like 'HV*'", "True"),
    ("'db1' -like 'db[1]'; 'db[1]' -like 'db[1]'; 'db[1]' -like 'db`[1`]'; 'web1' -like 'web*'",
     "True\r\nFalse\r\nTrue\r\nTrue"),
    ("'build 17763' -match '(\\d+)'; $Matches[1]", "True\r\n17763"),
    ("@(1,2,3,4) -gt 2 -join ','", "3,4"),
    ("'b' -in 'a','B'", "True"),
    ("7 / 2; 6 / 3; '1' + 2; 1 + '2'", "3.5\r\n2\r\n12\r\n3"),
    ("[int]2.5; [int]3.5; [long]'42'; [double]'1.5'", "2\r\n4\r\n42\r\n1.5"),
    ("4GB / 1MB", "4096"),
    ("$h = @{Name='a'; 'Two Words'=2}; $h.name; $h['two words']; $h.Count", "a\r\n2\r\n2"),
    ("$x = 1; $x += 2; \"x is $x, sub $($x * 2)\"", "x is 3, sub 6"),
    ("'It''s' + \"`ttab\"", "It's\ttab"),
    ("'a.b.c'.Split('.')[-1].ToUpper(); '  x '.Trim(); 'abc'.Contains('b'); 'abc'.StartsWith('A')",
     "C\r\nx\r\nTrue\r\nFalse"),
    ("([datetime]'2024-01-02T03:04:05Z').ToUniversalTime().ToString('o')", "2024-01-02T03:04:05.0000000Z"),
    ("(Get-Date -Date '2024-01-02 03:04:05').ToString('yyyy-MM-dd HH:mm')", "2024-01-02 03:04"),
    ("if ($null) { 'a' } elseif (@()) { 'b' } else { 'c' }", "c"),
    ("foreach ($i in 1..4) { if ($i -eq 2) { continue }; if ($i -eq 4) { break }; $i }", "1\r\n3"),
    ("$n = 0; while ($n -lt 3) { $n++ }; $n", "3"),
    ("function Add-Two($a, $b = 2) { $a + $b }; Add-Two 5; Add-Two -a 1 -b 1", "7\r\n2"),
    ("$null.Count; @().Count; (Get-ClusterNode).Count; (Get-ClusterNode -Name hv1).Count", "0\r\n0\r\n2\r\n1"),
    ("(Get-ClusterNode).Name -join ','", "hv1,hv2"),
    ("[math]::Round(2.567, 2); [string]::IsNullOrEmpty(''); $PSVersionTable.PSVersion.Major", "2.57\r\nTrue\r\n5"),
    ("'{0:N1} GB' -f 1.25", "1.2 GB"),
])
def test_expressions(script, expected):
    assert out(script) == expected + "\r\n"


def test_pipeline_commands():
    assert out("Get-ClusterNode | Where-Object State -eq 'Up' | Select-Object -ExpandProperty Name") == "hv2\r\n"
    assert out("Get-ClusterNode | Where-Object { $_.Name -like '*1' } | % Name") == "hv1\r\n"
    assert out(
        "Get-ClusterNode | Sort-Object Name -Descending | Select-Object -First 1 -ExpandProperty Name"
    ) == "hv2\r\n"
    assert out("(Get-VM a,b | Measure-Object -Property MemoryAssigned -Sum).Sum / 1GB") == "8\r\n"
    assert out("Get-VM a,b,c | Group-Object State | % Count") == "3\r\n"
    assert json.loads(out("Get-VM a | Select-Object Name, @{Name='GB'; Expression={$_.MemoryAssigned / 1GB}} | "
                          "ConvertTo-Json -Compress")) == {"Name": "a", "GB": 4}
    assert out("1..3 | ForEach-Object { $_ * 10 } | Sort-Object -Descending") == "30\r\n20\r\n10\r\n"


def test_pipeline_input_binds_to_the_cmdlets_pipeline_parameter():
    calls = []
    result = run("$ProgressPreference='SilentlyContinue'; Get-ClusterNode | Suspend-ClusterNode -Drain | % Name", calls)
    assert result.stdout == "hv1\r\nhv2\r\n"
    assert calls[1:] == [("Suspend-ClusterNode", "hv1", True), ("Suspend-ClusterNode", "hv2", True)]
    assert error_text(result.stderr) == "Roles were moved.\nRoles were moved."


def test_cmdlet_lookup_and_parameter_prefixes_are_case_insensitive():
    calls = []
    run("get-clusternode -clu c7 -NA hv1", calls)
    assert calls == [("Get-ClusterNode", "c7", "hv1")]


# -- errors ----------------------------------------------------------------------------------------
def test_unknown_command_is_reported_like_powershell():
    result = run("Get-Nothing -Name x; 'next statement runs'")
    assert result.stdout == "next statement runs\r\n" and result.exit_code == 0
    assert result.stderr.startswith(
        '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        '<S S="Error">'
    )
    text = error_text(result.stderr)
    assert "\n" in text.split("CommandNotFoundException")[0]     # wrapped at the console width (120)
    assert text.replace("\n", "").startswith("Get-Nothing : The term 'Get-Nothing' is not recognized as the name "
                                             "of a cmdlet, function, script file, or operable program.")
    assert "+ FullyQualifiedErrorId : CommandNotFoundException" in text
    assert "At line:1 char:1" in text
    assert run("Get-Nothing").exit_code == 1


def test_unknown_and_ambiguous_parameters():
    result = run("Get-ClusterNode -Bogus 1")
    assert result.exit_code == 1
    text = error_text(result.stderr)
    assert "Get-ClusterNode : A parameter cannot be found that matches parameter name 'Bogus'." in text
    assert f"FullyQualifiedErrorId : NamedParameterNotFound,{NODE_TYPE}" in text
    assert "ParameterBindingException" in text
    result = run("try { Suspend-ClusterNode -In x } catch { $_.FullyQualifiedErrorId; $_.Exception.Message }")
    assert result.stdout.startswith(
        "AmbiguousParameter,Microsoft.FailoverClusters.PowerShell.SuspendClusterNodeCommand"
    )
    assert "Possible matches include: -InputObject -InformationAction -InformationVariable." in result.stdout


def test_cmdlet_errors_are_non_terminating_unless_stop():
    result = run("$ProgressPreference='SilentlyContinue'; Get-VM a, missing, b | % Name")
    assert result.stdout == "a\r\nb\r\n"
    assert result.exit_code == 1
    assert 'Get-VM : Hyper-V was unable to find a virtual machine with name "missing".' in error_text(result.stderr)

    result = run("$ErrorActionPreference = 'Stop'; Get-VM a, missing, b | % Name; 'never'")
    assert result.stdout == "" and result.exit_code == 1

    result = run("Get-VM missing -ErrorAction SilentlyContinue; $?; 'still here'")
    assert result.stdout == "False\r\nstill here\r\n"
    assert "Hyper-V" not in error_text(result.stderr)


def test_catch_sees_the_error_record():
    result = run("try { Get-VM missing -ErrorAction Stop } catch { $_.Exception.Message; "
                 "[string]$_.CategoryInfo.Category; "
                 "$_.FullyQualifiedErrorId; $_.Exception.GetType().FullName; \"$_\" }")
    assert result.exit_code == 0
    assert result.stdout.split("\r\n")[:5] == [
        'Hyper-V was unable to find a virtual machine with name "missing".', "InvalidArgument",
        "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM",
        "Microsoft.HyperV.PowerShell.VirtualizationException",
        'Hyper-V was unable to find a virtual machine with name "missing".']


def test_throw_and_exit_codes():
    result = run("throw 'drain failed'")
    assert result.exit_code == 1
    text = error_text(result.stderr)
    assert text.startswith("drain failed\nAt line:1 char:1")
    assert "OperationStopped: (drain failed:String) [], RuntimeException" in text
    assert run("exit 7").exit_code == 7
    assert run("try { exit 3 } finally { 'cleanup' }").stdout == "cleanup\r\n"
    assert run("try { throw 'x' } catch [System.Management.Automation.CommandNotFoundException] { 'no' } "
               "catch { 'yes' }").stdout == "yes\r\n"
    assert run("try { $null.Foo() } catch { $_.FullyQualifiedErrorId }").stdout == "InvokeMethodOnNull\r\n"


def test_redirecting_the_error_stream():
    result = run("$ProgressPreference='SilentlyContinue'; Get-VM missing 2>$null; $Error.Count")
    assert result.stdout == "1\r\n" and result.stderr == ""
    assert run("$r = Get-VM missing 2>&1; $r.FullyQualifiedErrorId").stdout.startswith("InvalidParameter,")


def test_parse_errors_stop_the_script_before_it_runs():
    calls = []
    result = run("Get-ClusterNode\nif ($x -eq) { 'a' }", calls)
    assert result.exit_code == 1 and calls == []
    text = error_text(result.stderr)
    assert "You must provide a value expression following the '-eq' operator." in text
    assert "ParserError: (:) [], ParentContainsErrorRecordException" in text
    assert "At line:2 char:" in text
    assert "Missing closing '}'" in error_text(run("try { 'x' ").stderr)
    assert "The string is missing the terminator: '." in error_text(run("'abc").stderr)


def test_module_loading_progress_appears_on_stderr_unless_silenced():
    noisy = run("Get-ClusterNode | Out-Null")
    assert noisy.exit_code == 0 and '<Obj S="progress"' in noisy.stderr
    assert run("$ProgressPreference = 'SilentlyContinue'; Get-ClusterNode | Out-Null").stderr == ""


def test_objects_print_as_tables_and_lists():
    table = out("Get-ClusterNode | Select-Object Name, NodeWeight")
    assert table.split("\r\n")[1:5] == ["Name NodeWeight", "---- ----------", "hv1           1", "hv2           1"]
    listing = out("Get-ClusterNode -Name hv1 | Select-Object Name, State, NodeWeight, Id, OwnerNode")
    assert "Name       : hv1" in listing and "State      : Paused" in listing


def test_user_cmdlets_can_override_builtins_and_start_sleep_uses_the_given_clock():
    slept = []
    result = run_script("Start-Sleep -Seconds 25; Start-Sleep -Milliseconds 500; 'woke'", {}, sleep=slept.append)
    assert result.stdout == "woke\r\n" and slept == [25.0, 0.5]


def test_splatting_strict_mode_and_note_properties():
    calls = []
    run("$p = @{Cluster='c9'; Name='hv1'}; Get-ClusterNode @p | Out-Null", calls)
    assert calls == [("Get-ClusterNode", "c9", "hv1")]
    result = run("Set-StrictMode -Version Latest; $node = Get-ClusterNode -Name hv1; $node.Name; $node.Nmae")
    assert result.stdout.startswith("hv1\r\n") and result.exit_code == 1
    assert "The property 'Nmae' cannot be found on this object." in error_text(result.stderr)
    assert "The variable '$undefined' cannot be retrieved" in error_text(
        run("Set-StrictMode -Version 1; $undefined").stderr
    )
    assert json.loads(out("$o = [pscustomobject]@{A=1}; $o | Add-Member -NotePropertyName B -NotePropertyValue 2; "
                          "$o | ConvertTo-Json -Compress")) == {"A": 1, "B": 2}


@pytest.mark.parametrize("script", [
    "if ($x", "foreach ($i 1..2) { }", "@{a=1", "'unterminated", "Get-ClusterNode |", "$x = ", "try { }",
    "1 + ", "[int", "$(1", "function { }", "Get-ClusterNode | 5", "}", "$a.Foo(", "@(1,2",
])
def test_broken_scripts_fail_with_a_parser_error(script):
    result = run(script)
    assert result.exit_code == 1 and result.stdout == ""
    assert "ParserError: (:) [], ParentContainsErrorRecordException" in error_text(result.stderr)


@pytest.mark.parametrize("pattern, wildcard", [
    ("web*", True), ("db[1]", True), ("vm?", True), ("a]b", True), ("db`[1`]", False), ("plain-name", False),
    ("it's $(x); `whoami`", False),
])
def test_which_names_are_wildcard_patterns(pattern, wildcard):
    from lab.powershell.operators import contains_wildcards

    assert contains_wildcards(pattern) is wildcard


def test_a_script_block_created_from_text_runs_in_the_callers_scope_and_keeps_its_output_on_exit():
    script = "$x = 'outer'\n& ([ScriptBlock]::Create(\"'first'`n`$x`nexit 4\"))\n'never'"
    result = run_script(script, {})
    assert (result.stdout, result.exit_code) == ("first\r\nouter\r\n", 4)


def test_a_script_block_with_a_syntax_error_is_the_callers_exception():
    result = run_script("try { [ScriptBlock]::Create('if (') } catch { $_.FullyQualifiedErrorId; "
                        "$_.Exception.GetType().FullName; $_.CategoryInfo.Category }", {})
    assert result.stdout.split("\r\n")[:3] == ["ParseException",
                                               "System.Management.Automation.MethodInvocationException",
                                               "NotSpecified"]


def test_input_is_the_lines_of_standard_input():
    result = run_script("$text = $input | Out-String; $text.Length; $text.Replace([Environment]::NewLine, '|')", {},
                        variables={"input": ["ab", "", "c"]})
    assert result.stdout == "9\r\nab||c|\r\n"
