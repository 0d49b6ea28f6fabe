"""Syntax tree of the PowerShell subset. ``start``/``end`` are offsets into the whole script."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Node:
    start: int = field(default=0, kw_only=True)
    end: int = field(default=0, kw_only=True)


# -- expressions -------------------------------------------------------------------
@dataclass
class Const(Node):
    value: object


@dataclass
class Expand(Node):
    """Double-quoted string: str pieces and expression nodes."""
    parts: list


@dataclass
class Var(Node):
    name: str


@dataclass
class ArrayLiteral(Node):
    items: list


@dataclass
class ArrayExpr(Node):            # @( ... )
    body: list


@dataclass
class SubExpr(Node):              # $( ... )
    body: list


@dataclass
class Paren(Node):                # ( pipeline )
    statement: Node


@dataclass
class HashLiteral(Node):
    pairs: list                   # [(key node, value statement)]


@dataclass
class ScriptBlockExpr(Node):
    body: list
    text: str
    params: list = field(default_factory=list)   # [(name, default node or None)]


@dataclass
class Member(Node):
    target: Node
    name: object                  # str or expression node
    static: bool = False


@dataclass
class MethodCall(Node):
    target: Node
    name: str
    args: list
    static: bool = False


@dataclass
class Index(Node):
    target: Node
    index: Node


@dataclass
class Unary(Node):
    op: str
    operand: Node


@dataclass
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass
class Cast(Node):
    type_name: str
    operand: Node


@dataclass
class TypeLiteral(Node):
    type_name: str


# -- commands and statements -----------------------------------------------------
@dataclass
class CommandParameter(Node):
    name: str
    value: Node | None            # -Name:value
    text: str = ""


@dataclass
class CommandArgument(Node):
    value: Node


@dataclass
class CommandSplat(Node):         # @params: a hashtable's entries as -Name value pairs
    variable: str


@dataclass
class Command(Node):
    name: object                  # str, or an expression after '&'
    elements: list
    redirections: list = field(default_factory=list)   # [(stream, target)]
    name_end: int = 0


@dataclass
class Pipeline(Node):
    elements: list                # Command nodes; the first may be an expression


@dataclass
class Assign(Node):
    target: Node
    op: str
    value: Node                   # a statement


@dataclass
class If(Node):
    clauses: list                 # [(condition statement, body)]
    else_body: list | None


@dataclass
class Foreach(Node):
    variable: str
    iterable: Node
    body: list


@dataclass
class While(Node):
    condition: Node
    body: list


@dataclass
class For(Node):
    init: Node | None
    condition: Node | None
    step: Node | None
    body: list


@dataclass
class Try(Node):
    body: list
    catches: list                 # [(list of type names, body)]
    finally_body: list | None


@dataclass
class Throw(Node):
    value: Node | None


@dataclass
class Exit(Node):
    value: Node | None


@dataclass
class Return(Node):
    value: Node | None


@dataclass
class Break(Node):
    pass


@dataclass
class Continue(Node):
    pass


@dataclass
class FunctionDef(Node):
    name: str
    block: ScriptBlockExpr
