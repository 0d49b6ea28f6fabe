"""The web process: `python -m config.web -b 0.0.0.0 -p 8000 [daphne options]` runs daphne on
config.asgi with what a fleet's live pages need.

Every browser reconnects at once after a restart of the web tier (a thousand viewers are a normal
morning). Daphne's defaults drop most of such a storm: Twisted listens with a backlog of 50, so
the kernel discards the other SYNs, and a websocket not accepted within 5 s is closed while its
sign-in waits behind the others' on the process's database thread. The backlog below is capped by
the kernel's net.core.somaxconn.
"""
import argparse
import sys

LISTEN_BACKLOG = 4096
HANDSHAKE_TIMEOUT_SECONDS = 60


def daphne_argv(argv: list[str]) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m config.web", add_help=False)
    parser.add_argument("-b", "--bind", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=8000)
    parser.add_argument("--backlog", type=int, default=LISTEN_BACKLOG)
    ours, rest = parser.parse_known_args(argv)
    interface = ours.bind.strip("[]").replace(":", r"\:")
    endpoint = f"tcp:port={ours.port}:interface={interface}:backlog={ours.backlog}"
    return ["-e", endpoint, "--websocket_connect_timeout", str(HANDSHAKE_TIMEOUT_SECONDS), *rest,
            "config.asgi:application"]


def main(argv: list[str] | None = None) -> None:
    from daphne.cli import CommandLineInterface

    CommandLineInterface().run(daphne_argv(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
