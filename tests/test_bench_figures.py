"""Every figure a benchmark writes to .bench/results.json says what it is divided by (or that it is an
absolute measurement): a key missing from tests/bench/figures.py would be published as "not described"."""
import re
from pathlib import Path

from tests.bench import bench_pages
from tests.bench.figures import FIGURES, describe

BENCH_DIR = Path(__file__).parent / "bench"
LITERAL_KEY = re.compile(r'results\["([a-z0-9_]+)"\]\s*=')


def written_keys() -> set[str]:
    keys = set()
    for module in BENCH_DIR.glob("bench_*.py"):
        keys |= set(LITERAL_KEY.findall(module.read_text()))
    small = bench_pages.SIZES[0]
    for hosts in bench_pages.SIZES[1:]:
        keys.add(f"page_ratio_{hosts}_vs_{small}")
    keys.add(f"page_ratio_{bench_pages.SIZES[1]}_vs_{small}_detail")
    if 10000 in bench_pages.SIZES:
        keys.add(f"compliance_view_ratio_10000_vs_{small}")
    return keys - {"divided_by"}


def test_every_written_figure_is_described():
    keys = written_keys()
    assert "scan_ratio" in keys and "parallel_clusters_ratio" in keys  # the scan above found the modules
    missing = sorted(k for k in keys if k not in FIGURES)
    assert not missing, f"describe these in tests/bench/figures.py and docs/benchmarks.md: {missing}"


def test_described_as_ratio_or_absolute():
    described = describe({"scan_ratio": 1.0, "something_new": 2})
    assert described["scan_ratio"].startswith("ratio: ")
    assert described["something_new"].startswith("not described")
