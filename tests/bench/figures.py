"""What each figure in .bench/results.json is divided by, or that it is an absolute measurement.

`make bench` writes this beside the figures (key `divided_by`), so the file says for itself which
numbers are ratios (comparable from one machine to another) and which are absolute times of this
machine in this run. A figure a benchmark describes itself carries its own `divided_by` as well.
A key missing here is listed under `divided_by` as not described: add it here and to
docs/benchmarks.md.
"""

RATIO, ABSOLUTE, RAW = "ratio", "absolute", "raw"

FIGURES: dict[str, tuple[str, str]] = {
    "remediation_makespan_ratio": (RATIO, ("remediating an 8-node lab cluster ÷ its remediation lower bound from "
                                          "the lab's published durations")),
    "remediation_makespan": (RAW, ("wall seconds and the bound behind remediation_makespan_ratio, where the time "
                                  "goes per kind of step and the WinRM scripts each ran (absolute, this machine)")),
    "evacuation_ratio": (RATIO, "Ferry's evacuation of one node ÷ its evacuation lower bound"),
    "evacuation_vs_drain": (RATIO, ("Ferry's evacuation of one node ÷ the cluster's own drain (Suspend-ClusterNode "
                                   "-Drain) of the same node in the same lab")),
    "evacuation_vs_naive": (RATIO, "the older name of evacuation_vs_drain (the same figure)"),
    "evacuation": (RAW, ("seconds behind evacuation_ratio and evacuation_vs_drain, and the over-commit refusals "
                        "of each (absolute, this machine)")),
    "scan_ratio": (RATIO, ("a scan job over 1,000 lab hosts ÷ max(one host's scan time in the lab, Ferry's own "
                          "CPU per host scan in the same run × hosts ÷ cores)")),
    "scan": (RAW, "seconds behind scan_ratio (absolute, this machine)"),
    "compliance_view_ratio_1000_vs_100": (RATIO, "the Compliance view's server time at 1,000 hosts ÷ at 100 hosts"),
    "compliance_view": (RAW, ("milliseconds and queries behind compliance_view_ratio_1000_vs_100 (absolute, this "
                             "machine)")),
    "event_latency_p50_ms": (ABSOLUTE, ("milliseconds from a worker's commit to the websocket frame at the "
                                       "browser, median, on this machine; divided by nothing")),
    "event_latency_p99_ms": (ABSOLUTE, ("the same, 99th percentile, on this machine; divided by nothing (a lost "
                                       "line counts as arriving when its viewer stopped waiting)")),
    "event_frames_lost": (ABSOLUTE, ("committed log lines that never reached a viewer (expected: events × "
                                    "viewers; a viewer that never connected loses all of them); any fails the "
                                    "benchmark; a count")),
    "event_latency_raw": (RAW, ("counts and settings behind the event latencies: delivered ÷ expected, connect "
                               "time, viewer processes and their event-loop lag, load average, CPU per frame, "
                               "where the time goes in each web process (absolute, this machine)")),
    "engine_overhead_per_step_ms": (ABSOLUTE, ("a 200-step plan of no-op steps, milliseconds ÷ 200 steps, on "
                                              "this machine")),
    "engine_overhead_raw": (RAW, "seconds and queries behind engine_overhead_per_step_ms (absolute, this machine)"),
    "upgrade_makespan_ratio": (RATIO, "a rolling upgrade of an 8-node lab cluster ÷ its upgrade lower bound"),
    "upgrade_makespan": (RAW, "wall seconds and the bound behind upgrade_makespan_ratio (absolute, this machine)"),
    "page_ratio_1000_vs_100": (RATIO, ("each page's server time at 1,000 hosts ÷ at 100 hosts, median of "
                                      "alternating rounds; max is the worst page")),
    "page_ratio_10000_vs_100": (RATIO, ("each page's server time at 10,000 hosts ÷ at 100 hosts, median of "
                                       "alternating rounds; max is the worst page")),
    "compliance_view_ratio_10000_vs_100": (RATIO, ("the Compliance view's server time at 10,000 hosts ÷ at 100 "
                                                  "hosts, baselines on every host, median of alternating rounds")),
    "queries_per_page_flat": (ABSOLUTE, ("SQL queries per page counted at 100, 1,000 and 10,000 hosts; true when "
                                        "equal; divided by nothing")),
    "queries_per_page": (ABSOLUTE, "SQL queries per page at each size; divided by nothing"),
    "page_ratio_1000_vs_100_detail": (RAW, "per page: milliseconds at each size (absolute, this machine) and "
                                           "the ratios to 100 hosts"),
    "page_times_ms": (ABSOLUTE, "server milliseconds per page and size on this machine (median of the rounds)"),
    "fabric_generation_seconds": (ABSOLUTE, "wall seconds of generate_fabric on this machine"),
    "parallel_clusters_ratio": (RATIO, ("ten identical lab clusters remediated as one campaign, 10 at once ÷ one "
                                       "such cluster remediated alone in the same lab")),
    "parallel_clusters": (RAW, "seconds behind parallel_clusters_ratio (absolute, this machine)"),
    "eta_error": (RATIO, ("|ETA − real end| ÷ real time left, halfway through a rolling remediation; median over "
                         "replayed runs")),
    "eta_error_raw": (RAW, "the distribution and the runs behind eta_error"),
    "machine": (ABSOLUTE, "the machine the figures were measured on"),
    "errors": (RAW, "benchmarks that failed, with their traceback"),
}


def describe(results: dict) -> dict[str, str]:
    """`key: "ratio: …"` / `"absolute: …"` for every figure in the results."""
    described = {}
    for key in results:
        kind, text = FIGURES.get(key, ("not described", "add it to tests/bench/figures.py and docs/benchmarks.md"))
        described[key] = f"{kind}: {text}"
    return described
