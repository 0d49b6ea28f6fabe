"""WS-Management (WinRM) endpoints for the lab's simulated hosts, served to real pywinrm clients:
shells via Create / Command (``powershell -EncodedCommand``) / Receive / Signal / Delete, Basic
and NTLM (with message encryption) over HTTP and HTTPS.

    from lab.winrm import WinRMEndpoint, make_certificates
    ep = WinRMEndpoint("127.0.10.3", 5985, {"admin": "pw"}, execute=lambda script: run_script(...))
    ep.start(); ...; ep.stop()
"""
from .certs import make_certificates
from .endpoint import FAULTS, WinRMEndpoint

__all__ = ["FAULTS", "WinRMEndpoint", "make_certificates"]
