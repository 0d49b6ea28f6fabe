"""Production policy: HTTPS with validation; Basic or plain HTTP only for machines marked to allow it."""
import socket
import threading

import pytest

from fabric import agents
from fabric.agents.errors import InsecureTransportRefused, TransportUnavailable


@pytest.fixture
def listener():
    """A TCP port that records whether anybody connected to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


@pytest.mark.parametrize("https,transport,why", [
    (False, "ntlm", "plain HTTP"),
    (True, "basic", "Basic authentication"),
    (False, "basic", "plain HTTP"),
])
def test_insecure_is_refused_before_any_packet(listener, https, transport, why):
    port, accepted = listener
    conn = agents.Connection("127.0.0.1", port=port, https=https, transport=transport,
                             username="CONTOSO\\svc", password="secret-pw")
    with pytest.raises(InsecureTransportRefused) as info:
        agents.hostinfo.get_os(conn)
    message = str(info.value)
    assert why in message
    assert "Allow insecure" in message and "--allow-insecure" in message  # says how to allow it
    assert "secret-pw" not in message
    assert accepted == []


def test_allow_insecure_lets_it_through_to_the_network(listener, monkeypatch):
    monkeypatch.setenv("FERRY_WINRM_RETRY_WINDOW_SECONDS", "0")  # it never answers: no point asking again
    port, accepted = listener
    conn = agents.Connection("127.0.0.1", port=port, https=False, transport="basic", allow_insecure=True,
                             username="u", password="p", connect_timeout=2)
    with pytest.raises(agents.AgentError):
        agents.hostinfo.get_os(conn)  # the listener is no WinRM server, but it was contacted
    assert accepted


def test_missing_account_and_unknown_transport():
    with pytest.raises(TransportUnavailable, match="Run As"):
        agents.Connection("hv01.contoso.com").check_policy()
    with pytest.raises(TransportUnavailable, match="transport"):
        agents.Connection("hv01.contoso.com", transport="telnet", username="u").check_policy()


def test_connection_defaults_and_ca():
    conn = agents.Connection("hv01.contoso.com", username="u")
    assert conn.url == "https://hv01.contoso.com:5986/wsman"
    assert agents.Connection("fe80::1", https=False, username="u").url == "http://[fe80::1]:5985/wsman"
    assert agents.Connection("h", ca_path="/etc/ferry/ca.pem").ca_trust() == "/etc/ferry/ca.pem"
    assert "password" not in repr(agents.Connection("h", username="u", password="hunter2")) or \
        "hunter2" not in repr(agents.Connection("h", username="u", password="hunter2"))


def test_unreachable_is_typed_and_says_what_to_check():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    conn = agents.Connection("127.0.0.1", port=port, https=False, allow_insecure=True, username="u", password="p")
    with pytest.raises(agents.Unreachable) as info:
        agents.run_script(conn, "$result = 1", operation="probe")
    assert "refused" in str(info.value) and str(port) in str(info.value)
