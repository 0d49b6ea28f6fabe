"""The answer file staged on the deployment server carries the administrator and domain-join
passwords; none of it may end up in Ferry's logs, errors or database (through the lab)."""
import logging

import pytest

from fabric import agents
from tests.agents.conftest import connection
from tests.helpers import database_text

PLANTED = "Planted-RunAs-S3cret-7f3a"
ANSWER_FILE = (
    '<unattend xmlns="urn:schemas-microsoft-com:unattend">\n'
    f"  <AdministratorPassword><Value>{PLANTED}</Value><PlainText>true</PlainText></AdministratorPassword>\n"
    "  <Credentials><Domain>contoso</Domain><Username>svc-join</Username>"
    f"<Password>{PLANTED}</Password></Credentials>\n"
    "</unattend>"
)


def test_staging_an_answer_file_leaves_its_secret_nowhere_in_ferry(lab, db, caplog):
    wds = connection(lab, "AWDS")
    with caplog.at_level(logging.DEBUG):
        staged = agents.deployment.stage_deployment(
            wds, mac="00-15-5D-A1-00-78", device_name="HV-NEW78", remote_install="D:\\RemoteInstall",
            answer_file=ANSWER_FILE)
        try:
            assert staged.device_name == "HV-NEW78"
            listed = agents.deployment.get_staged_devices(wds)
            assert "HV-NEW78" in [d.device_name for d in listed]
            # A staging that fails (no such folder on the server): the error must not quote the script.
            with pytest.raises(agents.AgentError) as failed:
                agents.deployment.stage_deployment(
                    wds, mac="00-15-5D-A1-00-79", device_name="HV-NEW79", remote_install="Q:\\NoSuchFolder",
                    answer_file=ANSWER_FILE)
        finally:
            agents.deployment.unstage_deployment(wds, mac="00-15-5D-A1-00-78", remote_install="D:\\RemoteInstall")
    assert PLANTED not in str(failed.value) and PLANTED not in repr(failed.value)
    assert PLANTED not in caplog.text
    assert PLANTED not in repr(staged) and all(PLANTED not in repr(d) for d in listed)
    assert PLANTED not in database_text()
