"""A real MIT Kerberos KDC for the lab: its own realm, database and keytab in the lab's work folder.

Nothing system-wide is touched: the KDC and the tools read the files named by KRB5_CONFIG and
KRB5_KDC_PROFILE, and the lab's WinRM acceptors read their keys from the keytab named by
KRB5_KTNAME (set in the lab's own process only). The lab's hosts all live on loopback, so name
resolution is switched off (`dns_canonicalize_hostname`, `rdns`): the service principal is
HTTP/<fqdn> exactly as the client names the host.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

BINARIES = ("krb5kdc", "kdb5_util", "kadmin.local")
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


# what kadmin.local says on stderr when all is well
_INFORMATIONAL = ("No policy specified for",)


class KdcError(RuntimeError):
    pass


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in SBIN_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing_for_kerberos() -> list[str]:
    """The MIT KDC programs that are not installed (Debian: krb5-kdc, krb5-admin-server), and the
    Python packages the WinRM acceptors need (gssapi, krb5: the `kerberos` extra)."""
    missing = [name for name in BINARIES if find_binary(name) is None]
    for module in ("gssapi", "krb5"):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"Python package {module}")
    return missing


def principal_name(username: str, realm: str) -> str:
    """'CONTOSO\\svc-ferry' or 'svc-ferry@contoso.com' → 'svc-ferry@CONTOSO.COM'."""
    user = username.rsplit("\\", 1)[-1].split("@", 1)[0]
    return f"{user}@{realm}"


def _free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        tcp.bind((address, 0))
        port = tcp.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        try:
            udp.bind((address, port))
        except OSError:
            return _free_port(address)
    return port


class Kdc:
    """`users` maps user names to passwords; `services` lists host FQDNs, each getting HTTP/<fqdn>;
    `delegation_trusted` lists FQDNs whose service tickets carry ok-as-delegate (in Active Directory:
    the computer account is trusted for delegation)."""

    def __init__(self, folder: str | Path, realm: str, users: dict[str, str], services: list[str],
                 delegation_trusted: list[str] = (), address: str = "127.0.0.1", port: int | None = None):
        missing = missing_for_kerberos()
        if missing:
            raise KdcError(f"Kerberos is not installed ({', '.join(missing)} missing; Debian packages krb5-kdc "
                           f"krb5-admin-server libkrb5-dev, then pip install '.[kerberos]')")
        self.folder = Path(folder)
        self.realm = realm.upper()
        self.users = dict(users)
        self.services = sorted({s.lower() for s in services})
        self.trusted = {s.lower() for s in delegation_trusted}
        self.address = address
        self.port = port
        self.process: subprocess.Popen | None = None
        self.lock = threading.Lock()

    @property
    def krb5_config(self) -> Path:
        return self.folder / "krb5.conf"

    @property
    def keytab(self) -> Path:
        return self.folder / "services.keytab"

    def principal(self, username: str) -> str:
        return principal_name(username, self.realm)

    def environment(self) -> dict[str, str]:
        # the acceptors and the admin tools need no credential cache: none from the caller's environment
        return {"KRB5_CONFIG": str(self.krb5_config), "KRB5_KDC_PROFILE": str(self.folder / "kdc.conf"),
                "KRB5_KTNAME": f"FILE:{self.keytab}", "KRB5CCNAME": "MEMORY:lab-kdc"}

    def start(self) -> "Kdc":
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        if self.port is None:
            self.port = _free_port(self.address)
        self._write_config()
        master = secrets.token_urlsafe(24)
        self._run(["kdb5_util", "create", "-s", "-r", self.realm, "-W"], stdin=f"{master}\n{master}\n")
        # Active Directory requires pre-authentication of user accounts by default
        commands = [f"addprinc +requires_preauth -pw {_quoted(password)} {self.principal(user)}"
                    for user, password in self.users.items()]
        for fqdn in self.services:
            commands += self._service_commands(fqdn, fqdn in self.trusted, keytab=False)
        principals = [f"HTTP/{fqdn}@{self.realm}" for fqdn in self.services]
        for i in range(0, len(principals), 100):   # one keytab rewrite per hundred, not per principal
            commands.append(f"ktadd -k {self.keytab} {' '.join(principals[i:i + 100])}")
        self._kadmin(commands)
        log = open(self.folder / "krb5kdc.out", "wb")
        self.process = subprocess.Popen([find_binary("krb5kdc"), "-n", "-r", self.realm], env=self._env(),
                                        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self._wait_listening()
        return self

    def add_service(self, fqdn: str, trusted: bool = False) -> None:
        """HTTP/<fqdn> for a machine that joined the domain while the lab runs (a re-imaged host)."""
        fqdn = fqdn.lower()
        with self.lock:
            if fqdn in self.services:
                return
            self._kadmin(self._service_commands(fqdn, trusted))
            self.services.append(fqdn)
            if trusted:
                self.trusted.add(fqdn)

    def _service_commands(self, fqdn: str, trusted: bool, keytab: bool = True) -> list[str]:
        flags = " +ok_as_delegate" if trusted else ""
        commands = [f"addprinc -randkey{flags} HTTP/{fqdn}@{self.realm}"]
        if keytab:
            commands.append(f"ktadd -k {self.keytab} HTTP/{fqdn}@{self.realm}")
        return commands

    def _kadmin(self, commands: list[str]) -> None:
        # commands (passwords included) go on standard input, never on a command line
        self._run(["kadmin.local", "-r", self.realm], stdin="\n".join(commands) + "\nquit\n")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def describe(self) -> dict:
        return {"realm": self.realm, "kdc": f"{self.address}:{self.port}", "krb5_config": str(self.krb5_config)}

    # -- internals ---------------------------------------------------------------------------------
    def _env(self) -> dict:
        env = dict(os.environ)
        env.update(self.environment())
        return env

    def _run(self, command: list[str], stdin: str) -> None:
        done = subprocess.run([find_binary(command[0]), *command[1:]], input=stdin, capture_output=True,
                              text=True, env=self._env(), timeout=60)
        # kadmin.local reading commands exits 0 even when one fails: any other line on stderr is a failure
        problems = [line for line in done.stderr.splitlines()
                    if line.strip() and not line.startswith(_INFORMATIONAL)]
        if done.returncode != 0 or problems:
            for password in self.users.values():  # never echo an account's password
                done = done.__class__(done.args, done.returncode, "", done.stderr.replace(password, "***"))
            raise KdcError(f"{command[0]} failed (exit {done.returncode}): {done.stderr.strip()[-1500:]}")

    def _write_config(self) -> None:
        kdc = f"{self.address}:{self.port}"
        domains = sorted({fqdn.split(".", 1)[1] for fqdn in self.services if "." in fqdn})
        mapping = "".join(f"    .{d} = {self.realm}\n    {d} = {self.realm}\n" for d in domains)
        self.krb5_config.write_text(
            "[libdefaults]\n"
            f"    default_realm = {self.realm}\n"
            "    dns_lookup_kdc = false\n    dns_lookup_realm = false\n"
            "    dns_canonicalize_hostname = false\n    rdns = false\n"
            "    forwardable = true\n    udp_preference_limit = 1\n"
            "[realms]\n"
            f"    {self.realm} = {{\n        kdc = {kdc}\n    }}\n"
            "[domain_realm]\n" + mapping, encoding="utf-8")
        (self.folder / "kdc.conf").write_text(
            "[kdcdefaults]\n"
            f"    kdc_listen = {kdc}\n    kdc_tcp_listen = {kdc}\n"
            "[realms]\n"
            f"    {self.realm} = {{\n"
            f"        database_name = {self.folder / 'principal'}\n"
            f"        key_stash_file = {self.folder / 'stash'}\n"
            f"        acl_file = {self.folder / 'kadm5.acl'}\n"
            "        max_life = 10h\n        max_renewable_life = 7d\n"
            "        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal\n"
            "    }\n"
            "[logging]\n"
            f"    kdc = FILE:{self.folder / 'kdc.log'}\n", encoding="utf-8")
        (self.folder / "kadm5.acl").write_text("", encoding="utf-8")

    def _wait_listening(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = (self.folder / "krb5kdc.out").read_text(errors="replace")
                raise KdcError(f"krb5kdc exited with code {self.process.returncode}: {output.strip()[-1500:]}")
            try:
                with socket.create_connection((self.address, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise KdcError(f"krb5kdc did not listen on {self.address}:{self.port} within {timeout:g} s")


def _quoted(password: str) -> str:
    """A password as one word of a kadmin command (kadmin's parser takes double quotes)."""
    if '"' in password or "\n" in password:
        raise KdcError("a lab account's password cannot contain a double quote or a line break")
    return f'"{password}"'
