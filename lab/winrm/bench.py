"""Measure the WinRM endpoints: start cost per endpoint, threads and memory when idle, and
pywinrm ``run_ps`` latency. The endpoints run in a child process, the client in this one.

    python -m lab.winrm.bench --endpoints 1000 --runs 200
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import threading
import time
import warnings


def _serve(count: int, ready, stop):
    from lab.powershell import run_script
    from lab.winrm import WinRMEndpoint

    def execute(script):
        return run_script(script, {})

    threads_before = threading.active_count()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    endpoints = []
    for i in range(count):
        address = f"127.0.{10 + i // 250}.{1 + i % 250}"
        ep = WinRMEndpoint(address, 0, {"labadmin": "pw"}, execute=execute)
        ep.start()
        endpoints.append(ep)
    elapsed = time.perf_counter() - started
    ready.put({"urls": [ep.url for ep in endpoints], "start_ms_each": elapsed / count * 1000,
               "threads_added": threading.active_count() - threads_before,
               "rss_added_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024})
    stop.wait()
    for ep in endpoints:
        ep.close()


def _latency(urls: list[str], transport: str, runs: int) -> dict:
    import winrm
    samples = []
    for i in range(runs):
        url = urls[i % len(urls)]
        client = winrm.Session(url, auth=("labadmin", "pw"), transport=transport)
        started = time.perf_counter()
        result = client.run_ps("$ProgressPreference='SilentlyContinue'; @{n=1} | ConvertTo-Json -Compress")
        samples.append((time.perf_counter() - started) * 1000)
        if result.status_code != 0:
            raise RuntimeError(result.std_err.decode(errors="replace"))
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 1),
            "p90_ms": round(samples[int(len(samples) * 0.9) - 1], 1), "runs": runs}


def _throughput(urls: list[str], transport: str, runs: int, concurrency: int) -> dict:
    from concurrent.futures import ThreadPoolExecutor
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda i: _latency([urls[i % len(urls)]], transport, 1), range(runs)))
    return {"run_ps_per_second": round(runs / (time.perf_counter() - started), 1), "concurrency": concurrency}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=_serve, args=(args.endpoints, ready, stop), daemon=True)
    child.start()
    try:
        info = ready.get(timeout=600)
        report = {"endpoints": args.endpoints, "start_ms_each": round(info["start_ms_each"], 3),
                  "threads_added": info["threads_added"], "rss_added_mb": round(info["rss_added_mb"], 1)}
        for transport in ("basic", "ntlm"):
            report[f"run_ps_{transport}"] = _latency(info["urls"], transport, args.runs)
            report[f"parallel_{transport}"] = _throughput(info["urls"], transport, args.runs, args.concurrency)
    finally:
        stop.set()
        child.join(30)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
