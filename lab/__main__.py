"""Command line: run the lab, write big topologies, check a topology file.

    python -m lab serve --topology lab/topologies/demo.toml [--speed N] [--endpoints-out FILE]
                        [--port-base N] [--control-port N] [--state-dir DIR] [--log-level LEVEL]
    python -m lab topology --hosts 1000 [--out FILE]
    python -m lab topology --cluster-nodes 8 --vms-per-node 20 [--out FILE]
    python -m lab check FILE
"""
from __future__ import annotations

import argparse
import logging
import resource
import signal
import sys
import threading
import time
from pathlib import Path

DEFAULT_ENDPOINTS = "var/lab/endpoints.json"


def _raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
        except (ValueError, OSError):
            pass


def serve(args) -> int:
    from lab.serve import Lab, LabStartError
    from lab.topology import TopologyError, load_topology
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _raise_file_limit()
    try:
        topology = load_topology(args.topology)
    except TopologyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.speed is not None and args.speed <= 0:
        print("error: --speed must be greater than 0", file=sys.stderr)
        return 2
    started = time.monotonic()
    lab = Lab(topology, speed=args.speed, port_base=args.port_base, control_port=args.control_port,
              state_dir=args.state_dir)
    try:
        lab.start()
        path = lab.write_endpoints(args.endpoints_out)
    except (LabStartError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        lab.stop()
        return 3
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"endpoints: {path.resolve()}", file=sys.stderr)
    print(f"started in {time.monotonic() - started:.2f} s: {len(lab.endpoints)} WinRM endpoints, "
          f"{len(lab.bmcs.bmcs)} BMCs, speed {lab.dc.clock.speed:g}", file=sys.stderr)
    if lab.kdc is not None:
        print(f"Kerberos: realm {lab.kdc.realm}, KDC {lab.kdc.address}:{lab.kdc.port}, "
              f"KRB5_CONFIG={lab.kdc.krb5_config}", file=sys.stderr)
    else:
        print(f"Kerberos: not served ({lab.kdc_problem})", file=sys.stderr)
    print("lab ready", flush=True)
    stop.wait()
    lab.stop()
    return 0


def topology(args) -> int:
    from lab.generate import remediation_topology, render, scan_topology
    if args.hosts:
        data = scan_topology(args.hosts, speed=args.speed)
    else:
        data = remediation_topology(args.cluster_nodes, args.vms_per_node, speed=args.speed)
    text = render(data)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def check(args) -> int:
    from lab.topology import TopologyError, load_topology
    try:
        t = load_topology(args.file)
    except TopologyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    vms = sum(len(h.vms) for h in t.hosts)
    print(f"{args.file}: {len(t.hosts)} hosts, {len(t.clusters)} clusters, {vms} VMs, {len(t.updates)} updates")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description="Ferry's simulated datacenter")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("serve", help="run the lab")
    p.add_argument("--topology", required=True, help="a TOML topology file (lab/topologies/demo.toml)")
    p.add_argument("--speed", type=float, default=None, help="simulated seconds per wall second (topology default)")
    p.add_argument("--endpoints-out", default=DEFAULT_ENDPOINTS, help=f"where to write the endpoints JSON "
                                                                       f"(default {DEFAULT_ENDPOINTS})")
    p.add_argument("--port-base", type=int, default=None,
                   help="WinRM HTTP/HTTPS, BMC and control on N, N+1, N+2, N+3 (default 5985, 5986, 6230, 6231)")
    p.add_argument("--control-port", type=int, default=None, help="the control endpoint's port")
    p.add_argument("--state-dir", default=None, help="where certificates go (default: a new temporary folder)")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    p.set_defaults(run=serve)
    p = commands.add_parser("topology", help="write a generated topology (benchmarks)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--hosts", type=int, help="a farm of N standalone servers (scan benchmark)")
    group.add_argument("--cluster-nodes", type=int, help="one Hyper-V cluster of N nodes (remediation benchmark)")
    p.add_argument("--vms-per-node", type=int, default=20)
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--out", help="file to write (default: standard output)")
    p.set_defaults(run=topology)
    p = commands.add_parser("check", help="validate a topology file")
    p.add_argument("file")
    p.set_defaults(run=check)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
