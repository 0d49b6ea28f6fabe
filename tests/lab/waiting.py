"""Waiting for the lab's simulated machines to change state, without timing assertions."""
import time

import requests
from winrm.exceptions import WinRMError


def until(predicate, timeout: float = 15.0, what: str = "the condition"):
    """Poll `predicate` until it is true (returns its value) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} was not reached within {timeout:g} s")


def reachable(lab, host: str) -> bool:
    """Whether the host's WinRM runs a script now (a refused or cut connection is 'no')."""
    try:
        return lab.run_ps(host, "$env:COMPUTERNAME")[0] == 0
    except (requests.exceptions.RequestException, WinRMError, ConnectionError):
        return False
