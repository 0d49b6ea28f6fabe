"""The web process's daphne command line: a deep listen backlog and a long handshake timeout, so a
thousand browsers reconnecting at once after a restart are all accepted."""
from config.web import HANDSHAKE_TIMEOUT_SECONDS, LISTEN_BACKLOG, daphne_argv


def test_the_web_process_listens_with_a_deep_backlog_and_waits_for_handshakes():
    argv = daphne_argv(["-b", "0.0.0.0", "-p", "8000"])
    assert argv[argv.index("-e") + 1] == f"tcp:port=8000:interface=0.0.0.0:backlog={LISTEN_BACKLOG}"
    assert argv[argv.index("--websocket_connect_timeout") + 1] == str(HANDSHAKE_TIMEOUT_SECONDS)
    assert argv[-1] == "config.asgi:application"


def test_other_daphne_options_pass_through_and_win():
    argv = daphne_argv(["-b", "::1", "-p", "9000", "--backlog", "512", "--proxy-headers",
                        "--websocket_connect_timeout", "10"])
    assert argv[argv.index("-e") + 1] == r"tcp:port=9000:interface=\:\:1:backlog=512"
    assert "--proxy-headers" in argv
    # argparse keeps the last value: the operator's own timeout replaces the default
    assert argv.index("10") > argv.index(str(HANDSHAKE_TIMEOUT_SECONDS))
