"""A webhook receiver on loopback (http.server in a thread) that checks each message's signature
and answers with the statuses it was told, in order (the last one from then on)."""
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, secret: str, statuses=(200,)):
        self.secret = secret.encode()
        self.statuses = list(statuses)
        self.received: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = "sha256=" + hmac.new(owner.secret, body, hashlib.sha256).hexdigest()
                signed = hmac.compare_digest(expected, self.headers.get("X-Ferry-Signature", ""))
                status = owner.statuses.pop(0) if len(owner.statuses) > 1 else owner.statuses[0]
                owner.received.append({"body": json.loads(body), "headers": dict(self.headers), "signed": signed,
                                       "answered": status})
                self.send_response(status if signed else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/ferry-hook"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
