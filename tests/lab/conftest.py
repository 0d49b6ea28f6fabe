"""Fixtures for the lab's tests: a lab shared by a module's read-only tests, a fresh one per
test that changes state. Both run `python -m lab serve` in a child process on free ports."""
from lab.testing import lab_fixture

lab = lab_fixture("tests", speed=100.0, scope="module")
fresh_lab = lab_fixture("tests", speed=100.0, scope="function")
slow_lab = lab_fixture("tests", speed=40.0, scope="function")
