"""Small builders for the PowerShell the catalogue sends: explicit Select-Object properties.

Only fixed identifiers written in this package go through these builders; values that come from
users or from machines always go through fabric.agents.quoting.
"""
import re

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$")


def _check(name: str, path: str) -> None:
    if not _IDENT.match(name) or not _PATH.match(path):
        raise ValueError(f"not a property name: {name!r} / {path!r}")


def as_string(name: str, path: str | None = None) -> str:
    """A calculated property: `$_.<path>` cast to [string] (enums by name, Guids as text)."""
    path = path or name
    _check(name, path)
    return f"@{{Name='{name}';Expression={{[string]$_.{path}}}}}"


def as_int(name: str, path: str | None = None) -> str:
    path = path or name
    _check(name, path)
    return f"@{{Name='{name}';Expression={{[int64]$_.{path}}}}}"


def as_date(name: str, path: str | None = None) -> str:
    """A date in ISO 8601 UTC, or null when the property is empty."""
    path = path or name
    _check(name, path)
    return (f"@{{Name='{name}';Expression={{if ($_.{path}) {{ $_.{path}.ToUniversalTime().ToString('o') }} "
            f"else {{ $null }}}}}}")


def select(*properties: str) -> str:
    """`Select-Object -Property a, b, @{...}`: plain names are checked, calculated ones kept as built."""
    for prop in properties:
        if not prop.startswith("@{") and not _IDENT.match(prop):
            raise ValueError(f"not a property name: {prop!r}")
    return "Select-Object -Property " + ", ".join(properties)
