"""Kerberos tickets for Run As accounts, obtained by Ferry itself from the account's password.

pywinrm's Kerberos transport (pykerberos) takes the client's ticket from the credential cache, so
Ferry asks the KDC for a ticket with the password (GSSAPI, never `kinit` with a password on a command
line) and keeps it in a private cache collection of this process (one cache per principal, a 0700
folder). Which realm and KDC: the krb5.conf named by FERRY_KRB5_CONFIG, else the system's.
"""
import atexit
import hashlib
import os
import shutil
import tempfile
import threading
import time

from fabric.agents.errors import AccessDenied, TransportUnavailable, Unreachable

CONFIG_VARIABLE = "FERRY_KRB5_CONFIG"
# A ticket is asked for again after this long, or half its lifetime if that is shorter.
RENEW_AFTER_SECONDS = 3600.0

_lock = threading.Lock()
# (krb5.conf, principal) → (digest of the password used, when to ask again)
_obtained: dict[tuple[str, str], tuple[str, float]] = {}


def _prepare() -> None:
    config = os.environ.get(CONFIG_VARIABLE)
    if config:
        if not os.path.isfile(config):
            raise TransportUnavailable(f"{CONFIG_VARIABLE} names {config}, which is not a file; it must be the "
                                       f"krb5.conf that names the domain's realm and KDCs.")
        os.environ["KRB5_CONFIG"] = config
    cache = os.environ.get("KRB5CCNAME", "")
    if not (cache.startswith("DIR:") and os.path.isdir(cache[4:])):
        folder = tempfile.mkdtemp(prefix="ferry-krb5cc-")   # created 0700
        atexit.register(shutil.rmtree, folder, True)      # no ticket outlives the process
        os.environ["KRB5CCNAME"] = f"DIR:{folder}"


def principal_for(username: str, *, where: str = "") -> str:
    """'user@contoso.com' → 'user@CONTOSO.COM'; 'CONTOSO\\user' and 'user' → user@<default realm>."""
    import gssapi

    if "\\" in username:
        username = username.split("\\", 1)[1]
    if "@" in username:
        user, realm = username.split("@", 1)
        username = f"{user}@{realm.upper()}"
    try:
        name = gssapi.Name(username, gssapi.NameType.kerberos_principal)
        return str(name.canonicalize(gssapi.MechType.kerberos))
    except gssapi.exceptions.GSSError as exc:
        raise TransportUnavailable(
            f"Cannot make a Kerberos principal of {username!r} ({_gss_reason(exc)}); give the Run As account as "
            f"user@domain, or set {CONFIG_VARIABLE} to a krb5.conf with the domain's default_realm.",
            target=where) from None


def obtain_ticket(username: str, password: str, *, account: str = "", where: str = "") -> str:
    """Make sure this process holds a ticket-granting ticket for `username`; returns its principal."""
    import gssapi
    import gssapi.raw

    with _lock:
        _prepare()
        principal = principal_for(username, where=where)
        digest = hashlib.sha256(password.encode("utf-8")).hexdigest()
        key = (os.environ.get("KRB5_CONFIG", ""), principal)
        known = _obtained.get(key)
        if known and known[0] == digest and time.monotonic() < known[1]:
            return principal
        name = gssapi.Name(principal, gssapi.NameType.kerberos_principal)
        try:
            acquired = gssapi.raw.acquire_cred_with_password(name, password.encode("utf-8"), usage="initiate")
            gssapi.raw.store_cred_into({"ccache": os.environ["KRB5CCNAME"]}, acquired.creds, usage="initiate",
                                       overwrite=True)
        except gssapi.exceptions.GSSError as exc:
            _obtained.pop(key, None)
            raise _ticket_error(exc, principal, account, where) from None
        lifetime = acquired.lifetime or RENEW_AFTER_SECONDS
        _obtained[key] = (digest, time.monotonic() + min(RENEW_AFTER_SECONDS, lifetime / 2))
        return principal


def _gss_reason(exc) -> str:
    return "; ".join(str(m) for m in (exc.gen_message(),) if m) or str(exc)


def _ticket_error(exc, principal: str, account: str, where: str):
    reason = _gss_reason(exc)
    lowered = reason.lower()
    who = f"Run As account '{account}' ({principal})" if account else principal
    if "cannot contact any kdc" in lowered or "cannot find kdc" in lowered or "cannot resolve" in lowered:
        return Unreachable(f"No KDC of the realm of {principal} answered ({reason}). Check {CONFIG_VARIABLE} "
                           f"(the krb5.conf naming the domain's KDCs) and that they are reachable.", target=where)
    # a KDC that does not ask for pre-authentication answers anyway, and the reply cannot be decrypted
    if any(w in lowered for w in ("preauthentication failed", "password incorrect", "decrypt integrity check")):
        return AccessDenied(f"The KDC rejected the password of {who}.", target=where)
    if "not found in kerberos database" in lowered or "client not found" in lowered:
        return AccessDenied(f"The KDC does not know {who}: check the account's name (user@domain).", target=where)
    if "revoked" in lowered or "locked" in lowered or "expired" in lowered:
        return AccessDenied(f"The KDC refused {who}: {reason}.", target=where)
    return TransportUnavailable(f"Could not obtain a Kerberos ticket for {who}: {reason}.", target=where)
