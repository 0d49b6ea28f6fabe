"""The keys a demo or test run makes for itself, on a fresh checkout."""

import os
import subprocess
import sys

from django.conf import settings

PRINT_KEYS = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; "
    "from django.conf import settings; print(settings.SECRET_KEY, settings.FERRY_ENCRYPTION_KEY)"
)


def test_processes_starting_together_on_a_fresh_checkout_share_one_set_of_keys(tmp_path):
    # CI starts its two test runs side by side on a clean clone: each must read the keys the
    # other wrote, not fail on the file the other created a moment earlier.
    env = {k: v for k, v in os.environ.items() if k not in ("FERRY_SECRET_KEY", "FERRY_ENCRYPTION_KEY")}
    env.update(FERRY_VAR_DIR=str(tmp_path / "var"), PYTEST_VERSION="1")
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", PRINT_KEYS],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(12)
    ]
    results = [(p.communicate(timeout=60), p.returncode) for p in starts]
    assert [rc for _, rc in results] == [0] * 12, [err for (_, err), _ in results]
    assert len({out for (out, _), _ in results}) == 1
    keys_file = tmp_path / "var" / "keys.json"
    assert oct(keys_file.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in keys_file.parent.iterdir() if p.name.startswith(".keys-")) == []
