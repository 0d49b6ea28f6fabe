"""Expression grammar (precedence climbing) shared by the statement parser."""
from __future__ import annotations

from . import nodes as n
from .lexer import Token

LOGICAL = {"-and", "-or", "-xor"}
BITWISE = {"-band", "-bor", "-bxor", "-shl", "-shr"}
COMPARISON_BASE = {"eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch",
                   "contains", "notcontains", "in", "notin", "replace", "split"}
COMPARISON = ({f"-{p}{op}" for op in COMPARISON_BASE for p in ("", "c", "i")}
              | {"-join", "-is", "-isnot", "-as"})
STATEMENT_END = {"newline", ";", "eof", ")", "}"}
OPERAND_START = {"variable", "number", "string", "xstring", "(", "$(", "@(", "@{", "{", "["}


class ExpressionParser:
    """Mixed into Parser: needs ``peek``, ``next``, ``here``, ``fail``, ``skip_newlines``,
    ``parse_statement``, ``parse_statements`` and ``lx``."""

    def parse_expression(self, comma: bool = True):
        return self._binary_level(0, comma)

    LEVELS = [LOGICAL, COMPARISON, BITWISE, {"+", "-"}, {"*", "/", "%"}, {"-f"}]

    def _binary_level(self, level: int, comma: bool):
        if level == len(self.LEVELS):
            return self.parse_range(comma)
        ops = self.LEVELS[level]
        left = self._binary_level(level + 1, comma)
        while True:
            tok = self.peek()
            if tok.kind != "op" or tok.value not in ops:
                return left
            self.next()
            self.skip_newlines()
            self._require_operand(tok)
            right = self._binary_level(level + 1, comma)
            left = n.Binary(tok.value, left, right, start=left.start, end=self.here)

    def _require_operand(self, op: Token):
        tok = self.peek()
        if tok.kind in OPERAND_START or tok.kind == "," or (
                tok.kind == "op" and tok.value in ("-", "+", "!", "-not", "-bnot", "-split", "-join")):
            return
        self.fail(f"You must provide a value expression following the '{op.text}' operator.",
                  "ExpectedValueExpression", tok if tok.kind not in ("eof", "newline") else op)

    def parse_range(self, comma: bool):
        left = self.parse_prefix(comma)
        while self.peek().kind == "..":
            tok = self.next()
            self.skip_newlines()
            self._require_operand(tok)
            left = n.Binary("..", left, self.parse_prefix(comma), start=left.start, end=self.here)
        return left

    def parse_prefix(self, comma: bool):
        tok = self.peek()
        if tok.kind == "op" and tok.value in ("!", "-not", "-", "+", "-bnot"):
            self.next()
            self.skip_newlines()
            self._require_operand(tok)
            operand = self.parse_prefix(comma)
            if tok.value == "-" and isinstance(operand, n.Const) and isinstance(operand.value, (int, float)) \
                    and not isinstance(operand.value, bool):
                return n.Const(-operand.value, start=tok.start, end=operand.end)
            return n.Unary(tok.value, operand, start=tok.start, end=self.here)
        return self.parse_array(comma)

    def parse_array(self, comma: bool):
        start = self.here
        if self.peek().kind == ",":        # unary comma: a one-element array
            self.next()
            return n.ArrayLiteral([self.parse_tight()], start=start, end=self.here)
        first = self.parse_tight()
        if not comma or self.peek().kind != ",":
            return first
        items = [first]
        while self.peek().kind == ",":
            self.next()
            self.skip_newlines()
            items.append(self.parse_tight())
        return n.ArrayLiteral(items, start=first.start, end=self.here)

    def parse_tight(self):
        tok = self.peek()
        if tok.kind == "[":
            self.next()
            type_name = self.lx.read_type_name()
            if self.lx.at("::"):
                return self.parse_postfix(n.TypeLiteral(type_name, start=tok.start, end=self.here))
            nxt = self.peek()
            if nxt.kind in OPERAND_START or (nxt.kind == "op" and nxt.value in ("-", "!", "-not", "+")):
                operand = self.parse_tight() if nxt.kind != "op" else self.parse_prefix(False)
                return n.Cast(type_name, operand, start=tok.start, end=self.here)
            return n.TypeLiteral(type_name, start=tok.start, end=self.here)
        if tok.kind == "op" and tok.value in ("-split", "-join"):
            self.next()
            return n.Unary(tok.value, self.parse_tight(), start=tok.start, end=self.here)
        return self.parse_postfix(self.parse_primary("expr"))

    def parse_primary(self, mode: str):
        tok = self.next(mode)
        kind = tok.kind
        if kind == "number" or kind == "string":
            return n.Const(tok.value, start=tok.start, end=tok.end)
        if kind == "xstring":
            return n.Expand(self._expand_parts(tok.value.parts), start=tok.start, end=tok.end)
        if kind == "variable":
            return n.Var(tok.value, start=tok.start, end=tok.end)
        if kind == "(":
            self.skip_newlines()
            if self.peek().kind == ")":
                self.fail("An expression was expected after '('.", "ExpectedExpression", tok)
            statement = self.parse_statement()
            self.skip_newlines()
            if self.peek().kind != ")":
                self.fail("Missing closing ')' in expression.", "MissingEndParenthesisInExpression", tok)
            self.next()
            return n.Paren(statement, start=tok.start, end=self.here)
        if kind in ("$(", "@("):
            body = self.parse_statements({")"})
            if self.peek().kind != ")":
                self.fail("Missing closing ')' in subexpression.", "MissingEndParenthesisInSubexpression", tok)
            self.next()
            cls = n.SubExpr if kind == "$(" else n.ArrayExpr
            return cls(body, start=tok.start, end=self.here)
        if kind == "@{":
            return self.parse_hash(tok)
        if kind == "{":
            self.skip_newlines()
            params = []
            if self.is_word(self.peek(), "param"):
                self.next()
                if self.peek().kind != "(":
                    self.fail("Missing '(' in the param block.", "MissingOpenParenthesisInParamBlock")
                self.next()
                params = self._param_list()
            body = self.parse_statements({"}"})
            close = self.peek()
            if close.kind != "}":
                self.fail("Missing closing '}' in statement block or type definition.",
                          "MissingEndCurlyBrace", tok)
            self.next()
            text = self.full[tok.end:close.start]
            return n.ScriptBlockExpr(body, text, params, start=tok.start, end=self.here)
        if kind in ("eof", "newline"):
            self.fail("An expression was expected.", "ExpectedExpression", tok)
        self.unexpected(tok)

    def _expand_parts(self, parts: list) -> list:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            elif part[0] == "var":
                out.append(n.Var(part[1]))
            else:
                _, source, offset = part
                sub = type(self)(source, offset, self.full)
                out.append(n.SubExpr(sub.parse_script(), start=offset - 2, end=offset + len(source) + 1))
        return out

    def parse_hash(self, open_tok: Token):
        pairs = []
        while True:
            self.lx.skip_space()
            tok = self.peek()
            if tok.kind in ("newline", ";"):
                self.next()
                continue
            if tok.kind == "}":
                self.next()
                return n.HashLiteral(pairs, start=open_tok.start, end=self.here)
            if tok.kind == "eof":
                self.fail("The hash literal was incomplete.", "IncompleteHashLiteral", open_tok)
            key_start = self.here
            word = self.lx.read_hash_key() if tok.kind == "word" else None
            if word is not None:
                key = n.Const(word, start=key_start, end=self.here)
            elif tok.kind in ("string", "number", "xstring", "variable", "("):
                key = self.parse_postfix(self.parse_primary("expr"))
            else:
                self.fail("Missing key before '=' in hash literal.", "MissingHashKey", tok)
            eq = self.peek()
            if eq.kind != "assign" or eq.value != "=":
                self.fail("Missing '=' operator after key in hash literal.", "MissingEqualsInHashLiteral", eq)
            self.next()
            self.skip_newlines()
            if self.peek().kind in STATEMENT_END:
                self.fail("Missing statement after '=' in hash literal.", "MissingStatementInHashLiteral")
            pairs.append((key, self.parse_statement()))
            tok = self.peek()
            if tok.kind == "eof":
                self.fail("The hash literal was incomplete.", "IncompleteHashLiteral", open_tok)
            if tok.kind not in ("newline", ";", "}"):
                self.fail("Missing '=' operator after key in hash literal.", "MissingEqualsInHashLiteral", tok)

    def parse_postfix(self, node):
        lx = self.lx
        while True:
            if lx.at("::") or (lx.at(".") and not lx.at("..")):
                static = lx.at("::")
                lx.pos += 2 if static else 1
                name = lx.read_member_name()
                if name is None:
                    tok = self.peek()
                    if tok.kind in ("string", "variable", "xstring", "("):
                        name = self.parse_primary("expr")
                    else:
                        self.fail("Missing property name after reference operator.",
                                  "MissingPropertyName")
                if lx.at("(") and isinstance(name, str):
                    lx.pos += 1
                    args = []
                    self.skip_newlines()
                    while self.peek().kind != ")":
                        args.append(self.parse_expression(comma=False))
                        self.skip_newlines()
                        tok = self.peek()
                        if tok.kind == ",":
                            self.next()
                            self.skip_newlines()
                        elif tok.kind != ")":
                            self.fail("Missing ')' in method call.", "MissingEndParenthesisInMethodCall", tok)
                    self.next()
                    node = n.MethodCall(node, name, args, static, start=node.start, end=self.here)
                else:
                    node = n.Member(node, name, static, start=node.start, end=self.here)
            elif lx.at("["):
                lx.pos += 1
                self.skip_newlines()
                index = self.parse_expression()
                self.skip_newlines()
                if self.peek().kind != "]":
                    self.fail("Array index expression is missing or not valid.", "MissingArrayIndexExpression")
                self.next()
                node = n.Index(node, index, start=node.start, end=self.here)
            else:
                return node
