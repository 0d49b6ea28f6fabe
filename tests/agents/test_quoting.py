"""The one quoting helper: every value becomes an inert single-quoted PowerShell literal."""
import pytest

from fabric.agents.quoting import UnsafeArgument, ps_array, ps_bool, ps_choice, ps_int, ps_str

HOSTILE = [
    "O'Brien",
    "vm'; Stop-VM -Name 'web01' -TurnOff; '",
    "$(Remove-Item C:\\ -Recurse)",
    "`$env:USERNAME`",
    "a;b|c&d",
    "it\u2019s \u2018quoted\u2019",
    "''",
    "'",
]


def parse_single_quoted(literal: str) -> str:
    """Read back a single-quoted literal the way PowerShell's tokenizer does."""
    quotes = "'\u2018\u2019\u201a\u201b"
    assert literal[0] == "'" and literal[-1] == "'"
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch in quotes:
            # A lone quote would end the literal early: everything after it would be code.
            assert i + 1 < len(body) and body[i + 1] in quotes, f"unescaped quote at {i} in {literal!r}"
            out.append(body[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_read_back_unchanged(value):
    literal = ps_str(value)
    assert parse_single_quoted(literal) == value


def test_single_quotes_are_doubled_not_escaped_with_backtick():
    assert ps_str("it's") == "'it''s'"
    assert ps_str("`n") == "'`n'"  # backtick means nothing inside single quotes
    assert ps_str("$x") == "'$x'"


@pytest.mark.parametrize("value", ["a\x00b", "line1\nline2", "cr\rhere", "sep\u2028x"])
def test_nul_and_line_breaks_are_refused(value):
    with pytest.raises(UnsafeArgument):
        ps_str(value, what="VM name")


def test_multiline_allowed_only_when_asked_and_nul_never():
    assert ps_str("<a>\n</a>", multiline=True) == "'<a>\n</a>'"
    with pytest.raises(UnsafeArgument):
        ps_str("a\x00", multiline=True)


def test_numbers_booleans_arrays_choices():
    assert ps_int(5986) == "5986"
    assert ps_int("42") == "42"
    for bad in ("1; Stop-Computer", "4.5", True, 4.5, None, "0x10"):
        with pytest.raises(UnsafeArgument):
            ps_int(bad)
    assert ps_bool(True) == "$true" and ps_bool(0) == "$false"
    assert ps_array(["a", "b'c"]) == "@('a','b''c')"
    assert ps_choice("live", ["Live", "Quick"]) == "Live"
    with pytest.raises(UnsafeArgument):
        ps_choice("Live; Restart-Computer", ["Live", "Quick"])
