"""The HTTP(S) side of the lab's WinRM endpoints.

One acceptor thread watches every listening socket of the process (a selector), so an idle
endpoint costs a socket and no thread; each accepted TCP connection is served by its own
thread for as long as the client keeps it open (pywinrm: one connection per ``run_ps``).
"""
from __future__ import annotations

import logging
import select
import selectors
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler

log = logging.getLogger("lab.winrm")

IDLE_CONNECTION_SECONDS = 300


class Acceptor:
    """The process-wide accept loop. ``add``/``remove`` are applied by the loop itself."""

    _instance: "Acceptor | None" = None
    _instance_lock = threading.Lock()

    @classmethod
    def shared(cls) -> "Acceptor":
        with cls._instance_lock:
            if cls._instance is None or not cls._instance.thread.is_alive():
                cls._instance = cls()
            return cls._instance

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.selector.register(self.wake_r, selectors.EVENT_READ, None)
        self.pending: list[tuple] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name="winrm-acceptor", daemon=True)
        self.thread.start()

    def _request(self, op: tuple):
        with self.lock:
            self.pending.append(op)
        try:
            self.wake_w.send(b"x")
        except BlockingIOError:
            pass

    def add(self, sock: socket.socket, on_accept) -> None:
        done = threading.Event()
        self._request(("add", sock, on_accept, done))
        done.wait(5)

    def remove(self, sock: socket.socket) -> None:
        done = threading.Event()
        self._request(("remove", sock, None, done))
        done.wait(5)

    def _apply(self):
        with self.lock:
            ops, self.pending = self.pending, []
        for op, sock, on_accept, done in ops:
            try:
                if op == "add":
                    self.selector.register(sock, selectors.EVENT_READ, on_accept)
                else:
                    self.selector.unregister(sock)
                    sock.close()
            except (KeyError, ValueError, OSError):
                log.debug("selector %s failed", op, exc_info=True)
            done.set()

    def _loop(self):
        while True:
            for key, _ in self.selector.select():
                if key.data is None:
                    try:
                        while self.wake_r.recv(4096):
                            pass
                    except BlockingIOError:
                        pass
                    self._apply()
                    continue
                try:
                    conn, address = key.fileobj.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    log.debug("accept failed", exc_info=True)
                    continue
                conn.setblocking(True)
                threading.Thread(target=key.data, args=(conn, address), daemon=True,
                                 name="winrm-connection").start()


def listen(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def tls_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile)
    return context


class WinRMRequestHandler(BaseHTTPRequestHandler):
    """One TCP connection; ``self.server`` is the WinRMEndpoint. Keeps the per-connection
    security context: NTLM, Kerberos and CredSSP authenticate the connection, not each request."""

    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_SECONDS

    def setup(self):
        super().setup()
        self.security = None         # a completed acceptor context (NTLM, Kerberos, CredSSP)
        self.encryption = None       # the message-encryption protocol that context seals with
        self.pending = None          # a context waiting for the client's next token
        self.user = None
        self.identity = None         # lab.winrm.auth.SessionIdentity once authenticated
        self.auth_headers = []       # sent with the answer to the request that authenticated

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        log.debug("%s %s", self.client_address[0], format % args)

    def version_string(self):
        return self.server_version

    def do_GET(self):
        self.reply(405, b"", close=False)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.handle_post(self, body)

    def reply(self, status: int, body: bytes, content_type: str = "application/soap+xml;charset=UTF-8",
              headers: list[tuple[str, str]] = (), close: bool = False):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()

    def client_gone(self, wait: float) -> bool:
        """Wait up to ``wait`` seconds; True once the client has closed the connection."""
        sock = self.connection
        try:
            readable, _, _ = select.select([sock], [], [], wait)
            if not readable:
                return False
            if isinstance(sock, ssl.SSLSocket):
                return True
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True


def serve_connection(endpoint, conn: socket.socket, address):
    """Run one connection to completion (TLS handshake included) in the calling thread."""
    endpoint.track(conn, True)
    try:
        if endpoint.tls_context is not None:
            conn.settimeout(30)
            raw = conn
            conn = endpoint.tls_context.wrap_socket(raw, server_side=True)
            endpoint.track(raw, False)
            endpoint.track(conn, True)
        WinRMRequestHandler(conn, address, endpoint)
    except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
        log.debug("connection from %s ended", address, exc_info=True)
    except Exception:
        log.exception("connection from %s failed", address)
    finally:
        endpoint.track(conn, False)
        try:
            conn.close()
        except OSError:
            pass


def shutdown_socket(sock: socket.socket):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


__all__ = ["Acceptor", "WinRMRequestHandler", "listen", "serve_connection", "shutdown_socket",
           "tls_context"]
