"""The one way a value enters a PowerShell script: as a literal, never as code.

Strings become single-quoted literals. Inside single quotes PowerShell expands nothing (no `$`,
no backtick escapes, no subexpressions); the only special characters are the quote characters
themselves, and PowerShell treats the typographic single quotes (U+2018..U+201B) exactly like
the ASCII one. Each quote character is written twice, which PowerShell reads back as one of it.
"""
import uuid
from collections.abc import Iterable

# ASCII apostrophe and the typographic single quotes PowerShell also accepts as delimiters.
_SINGLE_QUOTES = ("'", "\u2018", "\u2019", "\u201a", "\u201b")
_LINE_BREAKS = ("\r", "\n", "\u0085", "\u2028", "\u2029")


class UnsafeArgument(ValueError):
    """A value that cannot be a PowerShell argument (NUL, line breaks where none make sense)."""


def ps_str(value, *, multiline: bool = False, what: str = "value") -> str:
    """`value` as a single-quoted PowerShell string literal.

    NUL is always refused; line breaks are refused unless `multiline` (an answer file's text).
    """
    if value is None:
        raise UnsafeArgument(f"The {what} is missing.")
    text = str(value)
    if "\x00" in text:
        raise UnsafeArgument(f"The {what} contains a NUL character.")
    if not multiline and any(ch in text for ch in _LINE_BREAKS):
        raise UnsafeArgument(f"The {what} {text[:40]!r} contains a line break; it must be a single line.")
    for quote in _SINGLE_QUOTES:
        text = text.replace(quote, quote * 2)
    return f"'{text}'"


def ps_int(value, *, what: str = "number") -> str:
    """A whole number, written in decimal; anything else (text, fractions, booleans) refused."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise UnsafeArgument(f"The {what} {value!r} is not a whole number.")
    try:
        number = int(value) if isinstance(value, (int, float)) else int(str(value).strip(), 10)
    except (TypeError, ValueError):
        raise UnsafeArgument(f"The {what} {value!r} is not a whole number.") from None
    return str(number)


def ps_bool(value) -> str:
    return "$true" if bool(value) else "$false"


def ps_array(values: Iterable, *, what: str = "value") -> str:
    """`@('a','b')` — each element quoted by ps_str."""
    return "@(" + ",".join(ps_str(v, what=what) for v in values) + ")"


def ps_guid(value, *, what: str = "id") -> str:
    """A GUID (a VM's Id) as a quoted literal in its canonical form; anything else refused."""
    try:
        canonical = str(uuid.UUID(str(value).strip().strip("{}")))
    except (TypeError, ValueError):
        raise UnsafeArgument(f"The {what} {str(value)[:60]!r} is not a GUID.") from None
    return f"'{canonical}'"


def ps_choice(value: str, allowed: Iterable[str], *, what: str = "option") -> str:
    """A bare word from a fixed list (an enum value such as Live, Install); anything else refused."""
    allowed = tuple(allowed)
    for option in allowed:
        if str(value).lower() == option.lower():
            return option
    raise UnsafeArgument(f"The {what} {value!r} is not one of {', '.join(allowed)}.")


__all__ = ["UnsafeArgument", "ps_array", "ps_bool", "ps_choice", "ps_guid", "ps_int", "ps_str"]
