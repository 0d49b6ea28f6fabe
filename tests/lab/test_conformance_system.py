"""The OS cmdlets refuse what Windows PowerShell 5.1 refuses (missing mandatory parameters, two
parameter sets at once, values an enum does not know) and fail with Windows' error identities,
and the filters they accept really filter. The sources are in lab/README.md, "Conformance with
Windows"."""
import json

import pytest

pytestmark = pytest.mark.lab
IDIOM = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; "


def ps(lab, host, script):
    return lab.run_json(host, IDIOM + script)


def error_of(lab, host, script) -> dict:
    """How the statement failed, read the way Ferry's agents read it (or {} when it did not)."""
    code, out, err = lab.run_ps(host, IDIOM + "try { $null = & { " + script + " }; '{}' } catch { "
                                "@{ category = [string]$_.CategoryInfo.Category; "
                                "fqid = [string]$_.FullyQualifiedErrorId; "
                                "type = $_.Exception.GetType().FullName; message = $_.Exception.Message } | "
                                "ConvertTo-Json -Compress }")
    assert code == 0, err
    return json.loads(out)


BINDING = "System.Management.Automation.ParameterBindingException"
MGMT = "Microsoft.PowerShell.Commands."


@pytest.mark.parametrize("script, fqid", [
    ("Test-Path", "MissingMandatoryParameter," + MGMT + "TestPathCommand"),
    ("Remove-Item", "MissingMandatoryParameter," + MGMT + "RemoveItemCommand"),
    ("Set-Content -Path 'D:\\RemoteInstall\\x.txt'", "MissingMandatoryParameter," + MGMT + "SetContentCommand"),
    ("Get-ADComputer", "MissingMandatoryParameter,Microsoft.ActiveDirectory.Management.Commands.GetADComputer"),
    ("Test-Path -Path 'C:\\' -LiteralPath 'C:\\'", "AmbiguousParameterSet," + MGMT + "TestPathCommand"),
    ("Get-NetAdapter -Name Ethernet -InterfaceIndex 10", "AmbiguousParameterSet,Get-NetAdapter"),
    ("Get-Disk -Number 0 -FriendlyName 'Boot Disk'", "AmbiguousParameterSet,Get-Disk"),
    ("Get-HotFix -Id KB1 -Description Update", "AmbiguousParameterSet," + MGMT + "GetHotFixCommand"),
    ("Get-CimInstance -ClassName Win32_BIOS -Query 'SELECT * FROM Win32_BIOS'",
     "AmbiguousParameterSet,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand"),
    ("Test-Path -Path 'C:\\' -PathType Folder", "CannotConvertArgumentNoMessage," + MGMT + "TestPathCommand"),
    ("Set-Content -Path 'D:\\RemoteInstall\\x.txt' -Value 1 -Encoding UTF16",
     "CannotConvertArgumentNoMessage," + MGMT + "SetContentCommand"),
    ("Get-NetIPAddress -AddressFamily IPv5", "CannotConvertArgumentNoMessage,Get-NetIPAddress"),
    ("Get-NetAdapter -InterfaceIndex ten", "CannotConvertArgumentNoMessage,Get-NetAdapter"),
])
def test_parameters_windows_refuses_are_refused_before_the_cmdlet_runs(lab, script, fqid):
    error = error_of(lab, "TWDS", script)
    assert (error["fqid"], error["type"]) == (fqid, BINDING)
    assert error["category"] == "InvalidArgument"


def test_an_empty_path_is_refused(lab):
    error = error_of(lab, "TWDS", "Test-Path -Path ''")
    assert error["fqid"] == "ParameterArgumentValidationErrorEmptyStringNotAllowed," + MGMT + "TestPathCommand"
    assert error["message"] == "Cannot bind argument to parameter 'Path' because it is an empty string."


def test_cdxml_cmdlets_report_what_they_did_not_find_as_windows_does(lab):
    error = error_of(lab, "T19-N1", "Get-NetAdapter -Name 'Ethernet 7'")
    assert error == {"category": "ObjectNotFound", "fqid": "CmdletizationQuery_NotFound_Name,Get-NetAdapter",
                     "type": "Microsoft.PowerShell.Cmdletization.Cim.CimJobException",
                     "message": "No MSFT_NetAdapter objects found with property 'Name' equal to 'Ethernet 7'.  "
                                "Verify the value of the property and retry."}
    error = error_of(lab, "T19-N1", "Get-NetIPAddress -InterfaceAlias 'Nope' -AddressFamily IPv4")
    assert error["fqid"] == "CmdletizationQuery_NotFound,Get-NetIPAddress"
    assert "WHERE ((InterfaceAlias LIKE 'Nope')) AND ((AddressFamily = 2))" in error["message"]
    assert error_of(lab, "T19-N1", "Get-NetAdapter -InterfaceIndex 99")["fqid"] == \
        "CmdletizationQuery_NotFound_InterfaceIndex,Get-NetAdapter"
    assert error_of(lab, "TF19-N1", "Get-SmbShare -Name NoSuchShare")["type"] == \
        "Microsoft.PowerShell.Cmdletization.Cim.CimJobException"
    # a wildcard that matches nothing is an empty answer, not an error
    assert ps(lab, "T19-N1", "ConvertTo-Json -InputObject @(Get-NetAdapter -Name 'Wi-Fi*') -Compress") == []


def test_filters_the_lab_accepts_really_filter(lab):
    names = ps(lab, "T19-N1", "ConvertTo-Json -Compress -InputObject @(Get-NetAdapter -Name 'Eth*' | "
                              "ForEach-Object { $_.Name })")
    assert names == ["Ethernet"]
    origins = ps(lab, "T19-N1", "ConvertTo-Json -Compress -InputObject @(Get-NetIPAddress -PrefixOrigin WellKnown | "
                                "ForEach-Object { [string]$_.AddressFamily })")
    assert origins == ["IPv6"]
    fixes = ps(lab, "T19-N3", "ConvertTo-Json -Compress -InputObject @(Get-HotFix | ForEach-Object { $_.HotFixID })")
    assert fixes, "T19-N3 has updates installed"
    first = fixes[0]
    found = ps(lab, "T19-N3", f"ConvertTo-Json -Compress -InputObject @(Get-CimInstance -ClassName "
                              f"Win32_QuickFixEngineering -Filter \"HotFixID = '{first}'\" | "
                              f"ForEach-Object {{ $_.HotFixID }})")
    assert found == [first]
    queried = ps(lab, "T19-N3", f"ConvertTo-Json -Compress -InputObject @(Get-CimInstance -Query \"SELECT HotFixID "
                                f"FROM Win32_QuickFixEngineering WHERE HotFixID <> '{first}'\" | "
                                f"ForEach-Object {{ $_.HotFixID }})")
    assert queried == fixes[1:]
    assert ps(lab, "T19-N3", "ConvertTo-Json -Compress -InputObject @(Get-HotFix -Description 'No such kind*')") == []


def test_a_property_list_leaves_the_other_properties_empty(lab):
    os = ps(lab, "T19-N1", "Get-CimInstance -ClassName Win32_OperatingSystem -Property Caption | "
                           "Select-Object Caption, Version, Name | ConvertTo-Json -Compress")
    assert os["Caption"].startswith("Microsoft Windows Server 2019") and os["Version"] is None
    assert os["Name"].startswith(os["Caption"] + "|")   # the key property comes along
    error = error_of(lab, "T19-N1", "Get-CimInstance -ClassName Win32_OperatingSystem -Filter \"Colour = 'red'\"")
    assert error["fqid"] == "HRESULT 0x80041017,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand"


def test_restart_computer_without_force_is_refused_and_the_host_stays_up(lab):
    error = error_of(lab, "T-SPARE", "Restart-Computer")
    assert error["fqid"] == "RestartcomputerFailed," + MGMT + "RestartComputerCommand"
    assert error["category"] == "OperationStopped"
    state = {h["name"]: h for h in lab.state()["hosts"]}
    assert state["T-SPARE"]["online"]


def test_new_item_does_not_overwrite_an_existing_file(fresh_lab):
    path = "D:\\RemoteInstall\\WdsClientUnattend\\keep.xml"
    ps(fresh_lab, "TWDS", f"Set-Content -Path '{path}' -Value 'first' -Encoding UTF8; '{{}}'")
    error = error_of(fresh_lab, "TWDS", f"New-Item -Path '{path}' -ItemType File -Value 'second'")
    assert (error["fqid"], error["type"]) == ("NewItemIOError," + MGMT + "NewItemCommand", "System.IO.IOException")
    assert error["message"] == f"The file '{path}' already exists."
    assert ps(fresh_lab, "TWDS", f"Get-Content -Path '{path}' -Raw | ConvertTo-Json") == "first\r\n"
    ps(fresh_lab, "TWDS", f"$null = New-Item -Path '{path}' -ItemType File -Value 'second' -Force; '{{}}'")
    assert ps(fresh_lab, "TWDS", f"Get-Content -Path '{path}' -Raw | ConvertTo-Json") == "second"


def test_restart_computer_validates_its_wait_parameters(lab):
    error = error_of(lab, "T-SPARE", "Restart-Computer -Force -Wait -For Ping")
    assert error["fqid"] == "CannotConvertArgumentNoMessage," + MGMT + "RestartComputerCommand"
    error = error_of(lab, "T-SPARE", "Restart-Computer -Force -Timeout -5")
    assert error["fqid"] == "ParameterArgumentValidationError," + MGMT + "RestartComputerCommand"
    assert {h["name"]: h for h in lab.state()["hosts"]}["T-SPARE"]["online"]


def test_files_go_only_into_folders_that_exist(fresh_lab):
    missing = "D:\\RemoteInstall\\NoSuchFolder\\node.xml"
    error = error_of(fresh_lab, "TWDS", f"Set-Content -Path '{missing}' -Value 'x'")
    assert error == {"category": "ObjectNotFound",
                     "fqid": "GetContentWriterDirectoryNotFoundError," + MGMT + "SetContentCommand",
                     "type": "System.IO.DirectoryNotFoundException",
                     "message": f"Could not find a part of the path '{missing}'."}
    assert error_of(fresh_lab, "TWDS", f"New-Item -Path '{missing}' -ItemType File")["fqid"] == \
        "NewItemIOError," + MGMT + "NewItemCommand"
    assert ps(fresh_lab, "TWDS", f"Test-Path -Path '{missing}' | ConvertTo-Json") is False
    # a folder made first takes the file; -Force makes the missing folders for a file
    ps(fresh_lab, "TWDS", "$null = New-Item -Path 'D:\\RemoteInstall\\NoSuchFolder' -ItemType Directory; "
                          f"Set-Content -Path '{missing}' -Value 'x'; '{{}}'")
    assert ps(fresh_lab, "TWDS", f"Get-Content -Path '{missing}' -Raw | ConvertTo-Json") == "x\r\n"
    ps(fresh_lab, "TWDS", "$null = New-Item -Path 'C:\\Ferry\\Staging\\a.txt' -ItemType File -Force; '{}'")
    assert ps(fresh_lab, "TWDS", "@(Test-Path -Path 'C:\\Ferry\\Staging' -PathType Container; "
                                 "Test-Path -Path 'C:\\Ferry\\Staging\\a.txt' -PathType Leaf) | "
                                 "ConvertTo-Json -Compress") \
        == [True, True]
    error = error_of(fresh_lab, "TWDS", "New-Item -Path 'C:\\Ferry' -ItemType Directory")
    assert error["fqid"] == "DirectoryExist," + MGMT + "NewItemCommand"
    # the deployment folder Ferry writes answer files into is there from the start
    ps(fresh_lab, "TWDS", "Set-Content -Path 'D:\\RemoteInstall\\WdsClientUnattend\\n.xml' -Value 'x'; '{}'")


def test_wmi_keeps_the_install_date_of_a_hotfix_as_text(lab):
    dates = ps(lab, "T19-N3", "@(Get-CimInstance -ClassName Win32_QuickFixEngineering | Select-Object -First 1 | "
                              "ForEach-Object { $_.InstalledOn.GetType().Name }; Get-HotFix | Select-Object -First 1 | "
                              "ForEach-Object { $_.InstalledOn.GetType().Name }) | ConvertTo-Json -Compress")
    assert dates == ["String", "DateTime"]
