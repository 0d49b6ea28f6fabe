"""New-EventLog and Write-EventLog refuse what Windows refuses (an unregistered source, a source of
another log, a missing mandatory parameter) and each entry written is in the lab's event log."""
import pytest

from tests.lab.test_conformance_system import MGMT, error_of, ps

pytestmark = pytest.mark.lab


def test_an_entry_needs_a_registered_source_of_that_log(lab):
    error = error_of(lab, "TWDS", "Write-EventLog -LogName Application -Source Patching -EventId 1 -Message x")
    assert error["message"] == 'The source name "Patching" does not exist on computer "localhost".'
    since = lab.events()[-1]["seq"] if lab.events() else 0
    ps(lab, "TWDS", "New-EventLog -LogName Application -Source Patching; "
                    "Write-EventLog -LogName Application -Source Patching -EventId 100 -EntryType Warning "
                    "-Message 'drain checks passed'; 1")
    written = [e for e in lab.events(since) if e["event"] == "eventlog-written"]
    assert [(e["host"], e["source"], e["event_id"], e["entry_type"], e["message"]) for e in written] == [
        ("TWDS", "Patching", 100, "Warning", "drain checks passed")]
    error = error_of(lab, "TWDS", "New-EventLog -LogName Application -Source Patching")
    assert error["message"] == 'The "Patching" source is already registered on the "localhost" computer.'
    error = error_of(lab, "TWDS", "Write-EventLog -LogName System -Source Patching -EventId 1 -Message x")
    assert error["message"].startswith("The source 'Patching' is not registered in log 'System'.")


def test_mandatory_parameters_and_ranges(lab):
    error = error_of(lab, "TWDS", "Write-EventLog -LogName Application -Source MsiInstaller -EventId 1")
    assert error["fqid"] == "MissingMandatoryParameter," + MGMT + "WriteEventLogCommand"
    error = error_of(lab, "TWDS", "Write-EventLog -LogName Application -Source MsiInstaller -EventId 70000 -Message x")
    assert error["fqid"].startswith("ParameterArgumentValidationError,")
    error = error_of(lab, "TWDS", "Write-EventLog -LogName Application -Source MsiInstaller -EventId 1 -Message x "
                                  "-EntryType Loud")
    assert error["fqid"] == "CannotConvertArgumentNoMessage," + MGMT + "WriteEventLogCommand"
