"""Mode-aware tokenizer for the PowerShell subset.

PowerShell lexes differently in expression mode (``$a -eq 1``) and in argument mode
(``Get-Item root/cimv2 -Name a,b``), so the parser asks for the next token *in a mode*.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import ParseError

OPERATORS = {
    "-eq", "-ne", "-gt", "-ge", "-lt", "-le", "-like", "-notlike", "-match", "-notmatch",
    "-contains", "-notcontains", "-in", "-notin", "-replace", "-split", "-join", "-is", "-isnot",
    "-as", "-and", "-or", "-xor", "-not", "-band", "-bor", "-bxor", "-bnot", "-f", "-shl", "-shr",
}
# case-sensitive / explicitly insensitive variants: -ceq, -ieq, -clike, ...
for _op in list(OPERATORS):
    if _op[1:] in ("eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch",
                   "contains", "notcontains", "in", "notin", "replace", "split"):
        OPERATORS.add("-c" + _op[1:])
        OPERATORS.add("-i" + _op[1:])

SCOPES = ("env", "script", "global", "local", "private", "using", "variable")
NUMBER_RE = re.compile(
    r"(?:0x(?P<hex>[0-9a-f]+)|(?P<dec>\d+(?:\.\d+)?|\.\d+)(?P<exp>e[+-]?\d+)?)"
    r"(?P<type>[ld])?(?P<mult>kb|mb|gb|tb|pb)?", re.IGNORECASE)
MULTIPLIERS = {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}
NAME_CHARS = re.compile(r"[A-Za-z0-9_]")
ARG_STOP = set(" \t\r\n;,|(){}")
EXPR_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.\\:]*")
ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "a": "\a", "b": "\b", "f": "\f",
           "v": "\v", "e": "\x1b"}
PUNCT = {";", "|", "(", ")", "{", "}", "[", "]", ","}


@dataclass
class Token:
    kind: str           # see the branches of Lexer._lex
    text: str           # source text
    value: object = None
    start: int = 0
    end: int = 0
    space_before: bool = False
    colon: bool = False  # -Param:value


@dataclass
class Expandable:
    """A double-quoted string: literal pieces and ('var', name) / ('sub', source, offset)."""
    parts: list = field(default_factory=list)


def parse_number(text: str):
    if text[:1] in ("-", "+") and len(text) > 1:
        value = parse_number(text[1:])
        return None if value is None else (-value if text[0] == "-" else value)
    m = NUMBER_RE.fullmatch(text)
    if not m:
        return None
    if m.group("hex"):
        value = int(m.group("hex"), 16)
    elif "." in m.group("dec") or m.group("exp"):
        value = float(m.group("dec") + (m.group("exp") or ""))
    else:
        value = int(m.group("dec"))
    mult = m.group("mult")
    if mult:
        value = value * MULTIPLIERS[mult.lower()]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
    if (m.group("type") or "").lower() == "d":
        value = float(value)
    return value


class Lexer:
    def __init__(self, source: str, offset: int = 0, full_source: str | None = None):
        self.src = source
        self.pos = 0
        self.offset = offset            # position of src inside the whole script
        self.full = full_source if full_source is not None else source
        self._cache: dict = {}          # (pos, mode) -> (token, end): the parser peeks a lot

    # -- helpers -----------------------------------------------------------------
    def error(self, message: str, error_id: str, pos: int | None = None, length: int = 1):
        raise ParseError(message, error_id, self.offset + (self.pos if pos is None else pos),
                         length, self.full)

    def _char(self, i: int) -> str:
        return self.src[i] if i < len(self.src) else ""

    def skip_space(self) -> bool:
        """Skip blanks, comments and backtick line continuations; True if anything was skipped."""
        start = self.pos
        src = self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c in " \t\f\v\u00a0":
                self.pos += 1
            elif c == "`" and self._char(self.pos + 1) in ("\n", "\r"):
                self.pos += 2
                if src[self.pos - 1] == "\r" and self._char(self.pos) == "\n":
                    self.pos += 1
            elif c == "#":
                while self.pos < len(src) and src[self.pos] not in "\r\n":
                    self.pos += 1
            elif c == "<" and self._char(self.pos + 1) == "#":
                end = src.find("#>", self.pos + 2)
                if end < 0:
                    self.error("Missing end of comment block ('#>').", "MissingEndOfCommentBlock")
                self.pos = end + 2
            elif c == "\r" and self._char(self.pos + 1) != "\n":
                self.pos += 1
            else:
                break
        return self.pos > start

    def peek(self, mode: str) -> Token:
        save = self.pos
        tok = self.next(mode)
        self.pos = save
        return tok

    def next(self, mode: str) -> Token:
        key = (self.pos, mode)
        hit = self._cache.get(key)
        if hit is not None:
            self.pos = hit[1]
            return hit[0]
        tok = self._next(mode)
        self._cache[key] = (tok, self.pos)
        return tok

    def _next(self, mode: str) -> Token:
        space = self.skip_space() or self.pos == 0
        start = self.pos
        tok = self._lex(mode)
        tok.start, tok.end = self.offset + start, self.offset + self.pos
        tok.text = self.src[start:self.pos]
        tok.space_before = space or (start > 0 and self.src[start - 1] in " \t\r\n")
        return tok

    # -- the tokenizer -----------------------------------------------------------
    def _lex(self, mode: str) -> Token:
        src, i = self.src, self.pos
        if i >= len(src):
            return Token("eof", "")
        c = src[i]
        c2 = src[i:i + 2]
        if c == "\n" or c2 == "\r\n":
            self.pos += 1 if c == "\n" else 2
            return Token("newline", "")
        if c2 in ("@(", "@{", "$("):
            self.pos += 2
            return Token(c2, c2)
        if c2 in ('@"', "@'") and src[i + 2:i + 4].lstrip(" \t")[:1] in ("\n", "\r"):
            return self._here_string()
        if c in PUNCT:
            self.pos += 1
            return Token(c, c)
        if c == "$":
            return self._variable()
        if c == "'":
            return self._single_quoted()
        if c == '"':
            return self._double_quoted()
        if mode == "arg":
            return self._arg_token()
        return self._expr_token()

    def _expr_token(self) -> Token:
        src, i = self.src, self.pos
        c = src[i]
        two = src[i:i + 2]
        if two == "::":
            self.pos += 2
            return Token("::", two)
        if two == "..":
            self.pos += 2
            return Token("..", two)
        if c.isdigit() or (c == "." and self._char(i + 1).isdigit()
                           and (i == 0 or not NAME_CHARS.match(src[i - 1]))):
            m = NUMBER_RE.match(src, i)
            end = m.end()
            if end < len(src) and NAME_CHARS.match(src[end]):
                j = end
                while j < len(src) and NAME_CHARS.match(src[j]):
                    j += 1
                self.error(f"Unexpected token '{src[i:j]}' in expression or statement.",
                           "UnexpectedToken", i, j - i)
            self.pos = end
            return Token("number", src[i:end], parse_number(src[i:end]))
        if c == ".":
            self.pos += 1
            return Token(".", c)
        if two in ("++", "--"):
            self.pos += 2
            return Token("op", two, two)
        if c in "+-*/%" and self._char(i + 1) == "=":
            self.pos += 2
            return Token("assign", two, two)
        if c == "-" and (self._char(i + 1).isalpha()):
            j = i + 1
            while j < len(src) and src[j].isalpha():
                j += 1
            word = src[i:j].lower()
            if word in OPERATORS:
                self.pos = j
                return Token("op", word, word)
            self.error(f"Unexpected token '{src[i:j]}' in expression or statement.",
                       "UnexpectedToken", i, j - i)
        if c == "=":
            self.pos += 1
            return Token("assign", "=", "=")
        if c in "+-*/%!":
            self.pos += 1
            return Token("op", c, c)
        if c == "&":
            self.pos += 1
            return Token("&", c)
        if c == ">" or (c in "123456*" and self._char(i + 1) == ">"):
            return self._redirection()
        m = EXPR_WORD_RE.match(src, i)
        if m:
            self.pos = m.end()
            # a trailing '.' or ':' belongs to what follows (member access, scope)
            while src[self.pos - 1] in ".:" and self.pos > i + 1:
                self.pos -= 1
            return Token("word", src[i:self.pos], src[i:self.pos])
        self.error(f"Unexpected token '{c}' in expression or statement.", "UnexpectedToken", i)

    def _arg_token(self) -> Token:
        src, i = self.src, self.pos
        c = src[i]
        if c == "@" and NAME_CHARS.match(self._char(i + 1) or " "):
            j = i + 1
            while j < len(src) and NAME_CHARS.match(src[j]):
                j += 1
            self.pos = j
            return Token("splat", src[i:j], src[i + 1:j])
        if c == "-" and (self._char(i + 1).isalpha() or self._char(i + 1) == "_"):
            j = i + 1
            while j < len(src) and (src[j].isalnum() or src[j] in "_-?"):
                j += 1
            name = src[i + 1:j]
            colon = self._char(j) == ":"
            self.pos = j + (1 if colon else 0)
            return Token("param", src[i:j], name, colon=colon)
        if c == ">" or (c in "123456*" and self._char(i + 1) == ">"):
            return self._redirection()
        if c == "&" and self._char(i + 1) in (" ", "\t", "$", "{", "("):
            self.pos += 1
            return Token("&", c)
        j = i
        chars = []
        while j < len(src) and src[j] not in ARG_STOP:
            if src[j] == "`" and j + 1 < len(src):
                chars.append(ESCAPES.get(src[j + 1], src[j + 1]))
                j += 2
                continue
            chars.append(src[j])
            j += 1
        self.pos = j
        text = "".join(chars)
        number = parse_number(text)
        if number is not None:
            return Token("number", text, number)
        return Token("word", text, text)

    def _redirection(self) -> Token:
        src, i = self.src, self.pos
        m = re.compile(r"([1-6*]?)(>>?)(&[12])?").match(src, i)
        self.pos = m.end()
        stream = m.group(1) or "1"
        return Token("redirect", m.group(0), (stream, m.group(3)))

    def _variable(self) -> Token:
        src, i = self.src, self.pos
        j = i + 1
        if self._char(j) == "{":
            end = src.find("}", j)
            if end < 0:
                self.error("Missing closing '}' in variable name.", "IncompleteDollarVariableReference")
            self.pos = end + 1
            return Token("variable", src[i:self.pos], src[j + 1:end])
        if self._char(j) in ("_", "?", "$", "^") and not NAME_CHARS.match(self._char(j + 1) or " "):
            self.pos = j + 1
            return Token("variable", src[i:self.pos], src[j])
        k = j
        while k < len(src) and NAME_CHARS.match(src[k]):
            k += 1
        if self._char(k) == ":" and src[j:k].lower() in SCOPES and NAME_CHARS.match(self._char(k + 1) or " "):
            scope = src[j:k].lower()
            k += 1
            start = k
            while k < len(src) and NAME_CHARS.match(src[k]):
                k += 1
            name = ("env:" if scope == "env" else "") + src[start:k]
        else:
            name = src[j:k]
        if not name:
            self.pos = j
            return Token("word", "$", "$")
        self.pos = k
        return Token("variable", src[i:k], name)

    def _single_quoted(self) -> Token:
        src, i = self.src, self.pos + 1
        out = []
        while True:
            end = src.find("'", i)
            if end < 0:
                self.error("The string is missing the terminator: '.",
                           "TerminatorExpectedAtEndOfString", self.pos)
            out.append(src[i:end])
            if self._char(end + 1) == "'":
                out.append("'")
                i = end + 2
                continue
            self.pos = end + 1
            return Token("string", "", "".join(out))

    def _double_quoted(self) -> Token:
        start = self.pos
        parts, end = self.scan_expandable(start + 1, terminator='"')
        self.pos = end
        if all(isinstance(p, str) for p in parts):
            return Token("string", "", "".join(parts))
        return Token("xstring", "", Expandable(parts))

    def _here_string(self) -> Token:
        src, i = self.src, self.pos
        quote = src[i + 1]
        body_start = src.index("\n", i) + 1
        m = re.compile(r"\r?\n" + quote + "@").search(src, body_start - 1)
        if not m:
            self.error("The string is missing the terminator: " + quote + "@.",
                       "TerminatorExpectedAtEndOfString", i)
        body_end = m.start()
        if quote == "'":
            self.pos = m.end()
            return Token("string", "", src[body_start:body_end])
        parts, _ = self.scan_expandable(body_start, terminator=None, stop=body_end)
        self.pos = m.end()
        if all(isinstance(p, str) for p in parts):
            return Token("string", "", "".join(parts))
        return Token("xstring", "", Expandable(parts))

    def scan_expandable(self, i: int, terminator: str | None, stop: int | None = None):
        """Read a double-quoted body from ``i``; returns (parts, index after the closing quote)."""
        src = self.src
        limit = len(src) if stop is None else stop
        parts: list = []
        buf: list[str] = []
        while True:
            if i >= limit:
                if terminator is None:
                    break
                self.error('The string is missing the terminator: ".',
                           "TerminatorExpectedAtEndOfString", self.pos)
            c = src[i]
            if terminator and c == terminator:
                if self._char(i + 1) == terminator:
                    buf.append(c)
                    i += 2
                    continue
                i += 1
                break
            if c == "`" and i + 1 < limit:
                buf.append(ESCAPES.get(src[i + 1], src[i + 1]))
                i += 2
                continue
            if c == "$":
                nxt = self._char(i + 1)
                if nxt == "(":
                    close = self._matching_paren(i + 1)
                    parts.append("".join(buf))
                    buf = []
                    parts.append(("sub", src[i + 2:close], self.offset + i + 2))
                    i = close + 1
                    continue
                if nxt == "{" or NAME_CHARS.match(nxt or " ") or (
                        nxt in ("_", "?", "$") and nxt):
                    save = self.pos
                    self.pos = i
                    tok = self._variable()
                    i, self.pos = self.pos, save
                    if tok.kind == "variable":
                        parts.append("".join(buf))
                        buf = []
                        parts.append(("var", tok.value))
                        continue
            buf.append(c)
            i += 1
        parts.append("".join(buf))
        return [p for p in parts if p != ""] or [""], i

    def _matching_paren(self, i: int) -> int:
        """Index of the ')' closing the '(' at ``i``, skipping quoted strings."""
        src, depth = self.src, 0
        while i < len(src):
            c = src[i]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    return i
            elif c == "'":
                end = src.find("'", i + 1)
                i = len(src) if end < 0 else end
            elif c == '"':
                _, i = self.scan_expandable(i + 1, '"')
                continue
            elif c == "`":
                i += 1
            i += 1
        self.error("Missing closing ')' in subexpression.", "MissingEndParenthesisInSubexpression", i - 1)

    # -- special reads requested by the parser --------------------------------------
    def read_member_name(self) -> str | None:
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(self.src, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return m.group(0)

    def read_type_name(self) -> str:
        """After '[': read a type name up to the matching ']' (handles ``string[]``)."""
        src, i = self.src, self.pos
        m = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.`]*(?:\[\s*\])?)\s*\]").match(src, i)
        if not m:
            self.error("Missing type name after '['.", "MissingTypename", i)
        self.pos = m.end()
        return m.group(1).replace(" ", "")

    def read_hash_key(self) -> str | None:
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*").match(self.src, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return m.group(0)

    def at(self, text: str) -> bool:
        return self.src.startswith(text, self.pos)
