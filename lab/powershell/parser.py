"""Recursive-descent parser for the PowerShell subset (see lexer.py for the two lexing modes)."""
from __future__ import annotations

import functools

from . import nodes as n
from .errors import ParseError
from .expressions import STATEMENT_END, ExpressionParser
from .lexer import Lexer, Token

KEYWORDS = {"if", "foreach", "while", "for", "try", "throw", "exit", "return", "break",
            "continue", "function", "filter"}


class Parser(ExpressionParser):
    def __init__(self, source: str, offset: int = 0, full_source: str | None = None):
        self.full = full_source if full_source is not None else source
        self.lx = Lexer(source, offset, self.full)

    # -- token helpers ------------------------------------------------------------
    def peek(self, mode: str = "expr") -> Token:
        return self.lx.peek(mode)

    def next(self, mode: str = "expr") -> Token:
        return self.lx.next(mode)

    @property
    def here(self) -> int:
        return self.lx.offset + self.lx.pos

    def fail(self, message: str, error_id: str, tok: Token | None = None, pos: int | None = None):
        if tok is not None:
            raise ParseError(message, error_id, tok.start, max(1, tok.end - tok.start), self.full)
        raise ParseError(message, error_id, self.here if pos is None else pos, 1, self.full)

    def unexpected(self, tok: Token):
        if tok.kind == "eof":
            self.fail("Unexpected end of script.", "UnexpectedToken", tok)
        self.fail(f"Unexpected token '{tok.text}' in expression or statement.", "UnexpectedToken", tok)

    def skip_newlines(self):
        while self.peek().kind == "newline":
            self.next()

    def is_word(self, tok: Token, *words: str) -> bool:
        return tok.kind == "word" and tok.text.lower() in words

    # -- statements -----------------------------------------------------------------
    def parse_script(self) -> list:
        body = self.parse_statements(set())
        tok = self.peek()
        if tok.kind != "eof":
            self.unexpected(tok)
        return body

    def parse_statements(self, closers: set) -> list:
        body = []
        while True:
            tok = self.peek()
            if tok.kind in ("newline", ";"):
                self.next()
                continue
            if tok.kind == "eof" or tok.kind in closers:
                return body
            body.append(self.parse_statement())
            tok = self.peek()
            if tok.kind not in ("newline", ";", "eof") and tok.kind not in closers:
                self.unexpected(tok)

    def parse_statement(self):
        tok = self.peek()
        if tok.kind == "word" and tok.text.lower() in KEYWORDS:
            handler = getattr(self, "parse_" + tok.text.lower())
            node = handler()
            node.start = tok.start
            node.end = node.end or self.here
            return node
        return self.parse_pipeline()

    def parse_block(self, message: str, error_id: str) -> list:
        self.skip_newlines()
        open_tok = self.peek()
        if open_tok.kind != "{":
            self.fail(message, error_id, open_tok)
        self.next()
        body = self.parse_statements({"}"})
        if self.peek().kind != "}":
            self.fail("Missing closing '}' in statement block or type definition.",
                      "MissingEndCurlyBrace", open_tok)
        self.next()
        return body

    def _paren_statement(self, keyword: str, missing_id: str) -> n.Node:
        open_tok = self.peek()
        if open_tok.kind != "(":
            self.fail(f"Missing '(' after '{keyword}' in {keyword} statement.",
                      f"MissingOpenParenthesisIn{keyword.capitalize()}Statement", open_tok)
        self.next()
        self.skip_newlines()
        if self.peek().kind in (")", "eof"):
            self.fail(f"Missing condition in {keyword} statement after '{keyword} ('.", missing_id)
        condition = self.parse_statement()
        self.skip_newlines()
        if self.peek().kind != ")":
            self.fail(f"Missing closing ')' after expression in '{keyword}' statement.",
                      "MissingEndParenthesisAfterStatement")
        self.next()
        return condition

    def _following_keyword(self, *words: str) -> str | None:
        """Look past newlines for else/elseif/catch/finally; restore the position if absent."""
        save = self.lx.pos
        self.skip_newlines()
        tok = self.peek()
        if self.is_word(tok, *words):
            self.next()
            return tok.text.lower()
        self.lx.pos = save
        return None

    def parse_if(self):
        self.next()
        clauses, else_body = [], None
        while True:
            condition = self._paren_statement("if", "IfStatementMissingCondition")
            body = self.parse_block("Missing statement block after if ( condition ).",
                                    "MissingStatementBlock")
            clauses.append((condition, body))
            word = self._following_keyword("elseif", "else")
            if word == "elseif":
                continue
            if word == "else":
                else_body = self.parse_block("Missing statement block after 'else' keyword.",
                                             "MissingStatementBlockAfterElse")
            return n.If(clauses, else_body)

    def parse_foreach(self):
        self.next()
        open_tok = self.peek()
        if open_tok.kind != "(":
            self.fail("Missing opening '(' after keyword 'foreach'.", "MissingOpenParenthesisAfterKeyword", open_tok)
        self.next()
        self.skip_newlines()
        var = self.next()
        if var.kind != "variable":
            self.fail("Missing variable name after foreach.", "MissingVariableNameAfterForeach", var)
        if not self.is_word(self.peek(), "in"):
            self.fail("Missing 'in' after variable in foreach loop.", "MissingInInForeach")
        self.next()
        self.skip_newlines()
        iterable = self.parse_statement()
        self.skip_newlines()
        if self.peek().kind != ")":
            self.fail("Missing closing ')' after expression in 'foreach' statement.",
                      "MissingEndParenthesisAfterForeach")
        self.next()
        body = self.parse_block("Missing statement body in foreach loop.", "MissingForeachStatement")
        return n.Foreach(var.value, iterable, body)

    def parse_while(self):
        self.next()
        condition = self._paren_statement("while", "MissingWhileCondition")
        body = self.parse_block("Missing statement body in while loop.", "MissingLoopStatement")
        return n.While(condition, body)

    def parse_for(self):
        self.next()
        if self.peek().kind != "(":
            self.fail("Missing opening '(' after keyword 'for'.", "MissingOpenParenthesisAfterKeyword")
        self.next()
        parts = []
        for closer in (";", ";", ")"):
            self.skip_newlines()
            part = None if self.peek().kind == closer else self.parse_statement()
            self.skip_newlines()
            if self.peek().kind != closer:
                self.fail(f"Missing '{closer}' in for statement.", "MissingEndParenthesisAfterStatement")
            self.next()
            parts.append(part)
        body = self.parse_block("Missing statement body in for loop.", "MissingLoopStatement")
        return n.For(parts[0], parts[1], parts[2], body)

    def parse_try(self):
        self.next()
        body = self.parse_block("Missing statement block after 'try'.", "MissingTryStatementBlock")
        catches, final = [], None
        while self._following_keyword("catch"):
            types = []
            while self.peek().kind == "[":
                self.next()
                types.append(self.lx.read_type_name())
                if self.peek().kind == ",":
                    self.next()
                    self.skip_newlines()
            catches.append((types, self.parse_block("Missing statement block in catch block.",
                                                    "MissingCatchHandlerBlock")))
        if self._following_keyword("finally"):
            final = self.parse_block("Missing statement block after 'finally'.",
                                     "MissingFinallyStatementBlock")
        if not catches and final is None:
            self.fail("The Try statement is missing its Catch or Finally block.",
                      "MissingCatchOrFinally")
        return n.Try(body, catches, final)

    def _optional_pipeline(self):
        return None if self.peek().kind in STATEMENT_END or self.peek().kind == "|" else self.parse_pipeline()

    def parse_throw(self):
        self.next()
        return n.Throw(self._optional_pipeline())

    def parse_exit(self):
        self.next()
        return n.Exit(self._optional_pipeline())

    def parse_return(self):
        self.next()
        return n.Return(self._optional_pipeline())

    def parse_break(self):
        self.next()
        return n.Break()

    def parse_continue(self):
        self.next()
        return n.Continue()

    def parse_function(self):
        self.next()
        name = self.next("arg")
        if name.kind != "word":
            self.fail("Missing function name after function keyword.", "MissingNameAfterKeyword", name)
        params = []
        if self.peek().kind == "(":
            self.next()
            params = self._param_list()
        self.skip_newlines()
        open_tok = self.peek()
        if open_tok.kind != "{":
            self.fail("Missing function body in function declaration.", "MissingFunctionBody", open_tok)
        block = self.parse_primary("expr")
        block.params = params or block.params
        return n.FunctionDef(name.value, block)

    parse_filter = parse_function

    def _param_list(self) -> list:
        """After 'param(' or 'function f(': ``[type]$name = default, ...`` up to ')'."""
        params = []
        while True:
            self.skip_newlines()
            tok = self.peek()
            if tok.kind == ")":
                self.next()
                return params
            if tok.kind == "[":
                self.next()
                depth = 1
                while depth:         # skip [type] and [Parameter(...)] attributes
                    c = self.lx._char(self.lx.pos)
                    if not c:
                        self.fail("Missing closing ']'.", "EndSquareBracketExpectedAtEndOfAttribute")
                    depth += {"[": 1, "]": -1}.get(c, 0)
                    self.lx.pos += 1
                continue
            if tok.kind != "variable":
                self.unexpected(tok)
            self.next()
            default = None
            if self.peek().kind == "assign":
                self.next()
                default = self.parse_expression(comma=False)
            params.append((tok.value, default))
            self.skip_newlines()
            if self.peek().kind == ",":
                self.next()

    # -- pipelines and commands -------------------------------------------------------
    def is_command_start(self, tok: Token) -> bool:
        return tok.kind in ("word", "&")

    def parse_pipeline(self):
        start = self.peek()
        if self.is_command_start(start):
            first = self.parse_command()
        elif start.kind == "op" and start.value in ("++", "--"):
            self.next()
            target = self.parse_postfix(self.parse_primary("expr"))
            return n.Assign(target, start.value[0] + "=", self._one(start), start=start.start, end=self.here)
        else:
            first = self.parse_expression()
            tok = self.peek()
            if tok.kind == "op" and tok.value in ("++", "--"):
                self.next()
                return n.Assign(first, tok.value[0] + "=", self._one(tok), start=start.start, end=self.here)
            if tok.kind == "assign":
                self.next()
                self.skip_newlines()
                if self.peek().kind in STATEMENT_END:
                    self.fail(f"You must provide a value expression on the right-hand side of the "
                              f"'{tok.value}' operator.", "ExpectedValueExpression", tok)
                value = self.parse_statement()
                return n.Assign(first, tok.value, value, start=start.start, end=self.here)
        elements = [first]
        while self.peek().kind == "|":
            bar = self.next()
            self.skip_newlines()
            tok = self.peek("arg")
            if tok.kind in STATEMENT_END or tok.kind == "|":
                self.fail("An empty pipe element is not allowed.", "EmptyPipeElement", bar)
            if not self.is_command_start(tok):
                self.fail("Expressions are only allowed as the first element of a pipeline.",
                          "ExpressionsMustBeFirstInPipeline", tok)
            elements.append(self.parse_command())
        return n.Pipeline(elements, start=start.start, end=self.here)

    @staticmethod
    def _one(tok: Token):
        return n.Pipeline([n.Const(1, start=tok.start, end=tok.end)], start=tok.start, end=tok.end)

    def parse_command(self) -> n.Command:
        tok = self.next("arg")
        if tok.kind == "&":
            name = self.parse_postfix(self.parse_primary("expr"))
        else:
            name = tok.value
        command = n.Command(name, [], start=tok.start, name_end=self.here)
        while True:
            tok = self.peek("arg")
            if tok.kind in STATEMENT_END or tok.kind == "|":
                break
            if tok.kind == "param":
                self.next("arg")
                value = self.parse_argument() if tok.colon else None
                command.elements.append(n.CommandParameter(tok.value, value, text=tok.text,
                                                           start=tok.start, end=tok.end))
            elif tok.kind == "splat":
                self.next("arg")
                command.elements.append(n.CommandSplat(tok.value, start=tok.start, end=tok.end))
            elif tok.kind == "redirect":
                self.next("arg")
                stream, merge = tok.value
                target = None if merge else self.parse_argument_primary()
                command.redirections.append((stream, merge or target))
            elif tok.kind == ",":
                self.fail("Missing argument in parameter list.", "MissingArgument", tok)
            else:
                command.elements.append(n.CommandArgument(self.parse_argument(), start=tok.start,
                                                          end=self.here))
        command.end = self.here
        return command

    def parse_argument(self):
        start = self.here
        items = [self.parse_argument_primary()]
        while self.peek("arg").kind == ",":
            self.next("arg")
            self.skip_newlines()
            items.append(self.parse_argument_primary())
        if len(items) == 1:
            return items[0]
        return n.ArrayLiteral(items, start=start, end=self.here)

    def parse_argument_primary(self):
        tok = self.peek("arg")
        if tok.kind in ("word", "number"):
            self.next("arg")
            return n.Const(tok.value, start=tok.start, end=tok.end)
        if tok.kind in STATEMENT_END or tok.kind in ("|", "param"):
            self.fail("Missing argument in parameter list.", "MissingArgument", tok)
        return self.parse_postfix(self.parse_primary("arg"))


@functools.lru_cache(maxsize=512)
def parse(script: str) -> list:
    """The syntax tree of a script; agents send the same scripts again and again, and trees are
    never modified once built, so they are cached."""
    return Parser(script).parse_script()
