"""`make bench`: run every tests/bench/bench_*.py and write .bench/results.json.

Each module has `run(results: dict) -> None` and adds its figures (ratios with the raw numbers
beside them). A benchmark reports; it never fails the build. Usage: python -m tests.bench [NAME ...]
(with names, the other figures of an earlier results.json are kept). `divided_by` says for every
figure what it is divided by, or that it is absolute (tests/bench/figures.py).
"""
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("FERRY_DEMO", "1")
os.environ.setdefault("FERRY_ALLOW_INSECURE_WINRM", "1")  # the lab lives on loopback


def main(selected: list[str]) -> int:
    import tests.bench as package

    out_dir = Path(".bench")
    out_dir.mkdir(exist_ok=True)
    results: dict = {}
    if selected and (out_dir / "results.json").exists():
        results = json.loads((out_dir / "results.json").read_text())
        results.pop("divided_by", None)
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("bench_"))
    for name in names:
        if selected and not any(s in name for s in selected):
            continue
        print(f"== {name}", flush=True)
        results.get("errors", {}).pop(name, None)  # an earlier run's failure is not this run's
        started = time.monotonic()
        try:
            importlib.import_module(f"tests.bench.{name}").run(results)
        except Exception:  # a benchmark reports, it never fails the build
            traceback.print_exc()
            results.setdefault("errors", {})[name] = traceback.format_exc(limit=3)
        print(f"   ({time.monotonic() - started:.1f} s)", flush=True)
    if not results.get("errors", True):
        del results["errors"]
    from tests.bench.figures import describe

    results["divided_by"] = describe(results)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {out_dir / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
