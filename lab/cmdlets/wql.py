"""WQL as Get-CimInstance -Query / -Filter use it: SELECT props FROM Class [WHERE conditions].

Conditions: Property =, <>, !=, <, >, <=, >= a 'string', number, TRUE/FALSE or NULL; LIKE with
% _ [..]; IS [NOT] NULL; joined with AND, OR, NOT and parentheses. String comparisons ignore
case, as WMI's do. Anything else is a syntax error, which WMI answers with "Invalid query"
(0x80041017); a property the class does not have is one too.
"""
from __future__ import annotations

import re

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\")|(?P<num>-?\d+(?:\.\d+)?)"
                    r"|(?P<op><>|!=|<=|>=|=|<|>)|(?P<paren>[()])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))")
_SELECT = re.compile(r"^\s*select\s+(?P<props>.+?)\s+from\s+(?P<cls>\w+)(?:\s+where\s+(?P<where>.+?))?\s*$",
                     re.IGNORECASE | re.DOTALL)


class InvalidQuery(ValueError):
    pass


def parse_select(query: str) -> tuple[list[str] | None, str, str | None]:
    """(properties or None for *, class name, where clause or None)."""
    match = _SELECT.match(query or "")
    if not match:
        raise InvalidQuery(query)
    props = [p.strip() for p in match.group("props").split(",")]
    if any(not re.fullmatch(r"\*|[A-Za-z_]\w*", p) for p in props):
        raise InvalidQuery(query)
    return (None if props == ["*"] else props), match.group("cls"), match.group("where")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise InvalidQuery(text)
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def matches(where: str | None, properties: dict) -> bool:
    """Does an instance with these properties satisfy the WHERE clause (None: every instance)?"""
    if where is None:
        return True
    parser = _Parser(_tokens(where), {k.lower(): v for k, v in properties.items()})
    result = parser.disjunction()
    if parser.pos != len(parser.tokens):
        raise InvalidQuery(where)
    return result


class _Parser:
    def __init__(self, tokens, properties):
        self.tokens = tokens
        self.pos = 0
        self.properties = properties

    def _peek(self, kind=None, value=None):
        if self.pos >= len(self.tokens):
            return None
        token = self.tokens[self.pos]
        if kind and token[0] != kind:
            return None
        if value and token[1].lower() != value:
            return None
        return token

    def _next(self):
        if self.pos >= len(self.tokens):
            raise InvalidQuery("unexpected end")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def disjunction(self) -> bool:
        result = self.conjunction()
        while self._peek("word", "or"):
            self._next()
            result = self.conjunction() or result
        return result

    def conjunction(self) -> bool:
        result = self.negation()
        while self._peek("word", "and"):
            self._next()
            result = self.negation() and result
        return result

    def negation(self) -> bool:
        if self._peek("word", "not"):
            self._next()
            return not self.negation()
        if self._peek("paren", "("):
            self._next()
            result = self.disjunction()
            if not self._peek("paren", ")"):
                raise InvalidQuery("missing )")
            self._next()
            return result
        return self.comparison()

    def comparison(self) -> bool:
        kind, name = self._next()
        if kind != "word" or name.lower() not in self.properties:
            raise InvalidQuery(name)
        actual = self.properties[name.lower()]
        if self._peek("word", "is"):
            self._next()
            negate = bool(self._peek("word", "not"))
            if negate:
                self._next()
            if not self._peek("word", "null"):
                raise InvalidQuery("IS needs NULL")
            self._next()
            return (actual is not None) if negate else (actual is None)
        if self._peek("word", "like"):
            self._next()
            kind, literal = self._next()
            if kind != "str":
                raise InvalidQuery("LIKE needs a string")
            return actual is not None and _like(str(actual), _unquote(literal))
        kind, op = self._next()
        if kind != "op":
            raise InvalidQuery(op)
        return _compare(actual, op, self._literal())

    def _literal(self):
        kind, text = self._next()
        if kind == "str":
            return _unquote(text)
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "word" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind == "word" and text.lower() == "null":
            return None
        raise InvalidQuery(text)


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _like(value: str, pattern: str) -> bool:
    regex, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "%":
            regex.append(".*")
        elif c == "_":
            regex.append(".")
        elif c == "[" and "]" in pattern[i:]:
            end = pattern.index("]", i)
            body = pattern[i + 1:end]
            regex.append("[" + ("^" + re.escape(body[1:]) if body.startswith("^") else re.escape(body)) + "]")
            i = end
        else:
            regex.append(re.escape(c))
        i += 1
    return re.fullmatch("".join(regex), value, re.IGNORECASE | re.DOTALL) is not None


def _compare(actual, op: str, expected) -> bool:
    if actual is None or expected is None:
        return False
    if isinstance(expected, bool):
        left, right = bool(actual), expected
    elif isinstance(expected, (int, float)):
        try:
            left, right = float(actual), float(expected)
        except (TypeError, ValueError):
            raise InvalidQuery(f"{actual!r} is not a number") from None
    else:
        left, right = str(actual).casefold(), expected.casefold()
    return {"=": left == right, "<>": left != right, "!=": left != right, "<": left < right,
            ">": left > right, "<=": left <= right, ">=": left >= right}[op]
