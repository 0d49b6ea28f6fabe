"""Evaluates the syntax tree: statements, expressions, error semantics of Windows PowerShell 5.1.

Error model (as PowerShell): a *non-terminating* error is written to the error stream and the
pipeline goes on; a *statement-terminating* error (unknown command, parameter binding, a failed
method call) ends the current statement; a *script-terminating* error (``throw``, ``-ErrorAction
Stop``) unwinds to the nearest ``catch`` or ends the script with exit code 1.
``$ErrorActionPreference = 'Stop'`` promotes the first two kinds to script-terminating.
"""
from __future__ import annotations

import logging

from . import nodes as n
from . import operators
from .errors import ErrorRecord, PSException, TerminatingError, format_error, runtime_error
from .flow import COMPOUND, UNSET, BreakSignal, ContinueSignal, ExitSignal, ReturnSignal, enumerate_value, unwrap
from .formatting import render
from .invoke import CommandInvoker
from .members import call_method, get_index, get_member, has_member, set_index, set_member
from .typesystem import call_static, convert, resolve_type, static_member
from .values import ConversionError, Hashtable, PSObject, ScriptBlock, TypeInfo, to_bool, to_string

log = logging.getLogger("lab.powershell")

class Interpreter(CommandInvoker):
    def __init__(self, source: str, cmdlets, context=None, variables=None, env=None, sleep=None):
        super().__init__(cmdlets, sleep)
        self.source = source
        self.context = context
        self.vars: dict[str, object] = {
            "erroractionpreference": "Continue", "progresspreference": "Continue",
            "warningpreference": "Continue", "verbosepreference": "SilentlyContinue",
            "debugpreference": "SilentlyContinue", "ofs": " ",
            "psversiontable": Hashtable({
                "PSVersion": PSObject({"Major": 5, "Minor": 1, "Build": 17763, "Revision": 1},
                                      type_name="System.Version", text="5.1.17763.1"),
                "PSEdition": "Desktop", "CLRVersion": "4.0.30319.42000",
                "BuildVersion": "10.0.17763.1", "WSManStackVersion": "3.0",
                "PSRemotingProtocolVersion": "2.3", "SerializationVersion": "1.1.0.1"}),
        }
        for name, value in (variables or {}).items():
            self.vars[name.lower()] = value
        self.env = {k.lower(): v for k, v in (env or {}).items()}
        self.streams: list[tuple[str, str]] = []     # stderr: (stream, text)
        self.stdout: list[str] = []
        self.error_list: list[ErrorRecord] = []
        self.vars["error"] = self.error_list
        self.error_count = 0
        self.last_success = True
        self.try_depth = 0
        self.functions: dict[str, n.ScriptBlockExpr] = {}
        self.sinks: list = []        # error redirections of the commands being run
        self.strict = 0              # Set-StrictMode version (0 = off)

    # -- variables -------------------------------------------------------------------
    def get_var(self, name: str):
        key = name.lower()
        if key == "true":
            return True
        if key == "false":
            return False
        if key == "null":
            return None
        if key == "?":
            return self.last_success
        if key == "psitem":
            key = "_"
        if key.startswith("env:"):
            return self.env.get(key[4:])
        if self.strict and key not in self.vars:
            raise runtime_error(f"The variable '${name}' cannot be retrieved because it has not been set.",
                                "VariableIsUndefined", "InvalidOperation", target=name)
        return self.vars.get(key)

    def set_var(self, name: str, value):
        key = name.lower()
        if key == "null":
            return
        if key in ("true", "false", "?"):
            raise runtime_error(f"Cannot overwrite variable {name} because it is read-only or constant.",
                                "VariableNotWritable", "WriteError",
                                "System.Management.Automation.SessionStateUnauthorizedAccessException")
        if key == "psitem":
            key = "_"
        if key.startswith("env:"):
            self.env[key[4:]] = to_string(value)
            return
        self.vars[key] = value

    def env_value(self, name: str):
        return self.env.get(name.lower())

    def preference(self, name: str) -> str:
        return to_string(self.vars.get(name.lower() + "preference", "Continue")).lower()

    # -- running ---------------------------------------------------------------------------
    def run(self, statements: list) -> int:
        """Run a parsed script; returns the process exit code."""
        try:
            for statement in statements:
                out: list = []
                try:
                    self.exec_statement(statement, out)
                finally:
                    self.stdout.extend(render(out))
        except ExitSignal as signal:
            return signal.code
        except TerminatingError as exc:
            self.display_error(exc.record)
            return 1
        except (ReturnSignal, BreakSignal, ContinueSignal):
            pass
        except RecursionError:
            self.display_error(ErrorRecord(PSException(
                "System.Management.Automation.ScriptCallDepthException",
                "The script failed due to call depth overflow."), "CallDepthOverflow", "InvalidOperation"))
            return 1
        except Exception as exc:     # a defect of the lab itself: say so instead of dying
            log.exception("the PowerShell interpreter failed")
            self.display_error(ErrorRecord(PSException("System.InvalidOperationException",
                                                       f"The lab's PowerShell interpreter failed: {exc!r}"),
                                           "LabInterpreterFailure", "NotSpecified"))
            return 1
        return 0 if self.last_success else 1

    def exec_block(self, statements: list, out: list):
        for statement in statements:
            self.exec_statement(statement, out)

    def exec_statement(self, statement, out: list):
        before = self.error_count
        try:
            self.execute(statement, out)
        except TerminatingError as exc:
            if exc.script or self.try_depth > 0:
                raise
            if self.preference("ErrorAction") == "stop":
                exc.script = True
                raise
            self.record_error(exc.record, self.preference("ErrorAction"))
            self.last_success = False
            return
        if not isinstance(statement, COMPOUND):
            self.last_success = self.error_count == before

    def record_error(self, record: ErrorRecord, action: str):
        if action == "ignore":
            return
        self.error_list.insert(0, record)
        self.error_count += 1
        if action in ("silentlycontinue",):
            return
        sink = self.sinks[-1] if self.sinks else None
        if sink is None:
            self.display_error(record)
        elif isinstance(sink, list):
            sink.append(record)

    def display_error(self, record: ErrorRecord):
        self.streams.append(("Error", "\n".join(format_error(record))))

    def write_error(self, record: ErrorRecord, action: str | None = None):
        """A non-terminating error, subject to -ErrorAction / $ErrorActionPreference."""
        action = (action or self.preference("ErrorAction")).lower()
        if action == "stop":
            self.error_list.insert(0, record)
            self.error_count += 1
            raise TerminatingError(record, script=True)
        self.record_error(record, action)

    def write_warning(self, message: str, action: str | None = None):
        action = (action or self.preference("Warning")).lower()
        if action in ("silentlycontinue", "ignore") or self.muted_warnings:
            return
        if action == "stop":
            raise runtime_error(f"The running command stopped because the preference variable "
                                f"\"WarningPreference\" or common parameter is set to Stop: {message}",
                                "ActionPreferenceStop", "OperationStopped",
                                "System.Management.Automation.ActionPreferenceStopException")
        self.streams.append(("warning", message))

    # -- statements ---------------------------------------------------------------------------
    def execute(self, node, out: list):
        kind = type(node)
        if kind is n.Pipeline:
            self.run_pipeline(node, out)
        elif kind is n.Assign:
            self.assign(node)
        elif kind is n.If:
            for condition, body in node.clauses:
                if to_bool(self.statement_value(condition)):
                    self.exec_block(body, out)
                    return
            if node.else_body is not None:
                self.exec_block(node.else_body, out)
        elif kind is n.Foreach:
            value = self.statement_value(node.iterable)
            items = [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]
            for item in items:
                self.set_var(node.variable, item)
                try:
                    self.exec_block(node.body, out)
                except BreakSignal:
                    break
                except ContinueSignal:
                    continue
        elif kind is n.While or kind is n.For:
            self.loop(node, out)
        elif kind is n.Try:
            self.execute_try(node, out)
        elif kind is n.Throw:
            self.execute_throw(node)
        elif kind is n.Exit:
            value = None if node.value is None else self.statement_value(node.value)
            raise ExitSignal(0 if value is None else convert(value, "System.Int32"))
        elif kind is n.Return:
            if node.value is not None:
                self.execute(node.value, out)
            raise ReturnSignal()
        elif kind is n.Break:
            raise BreakSignal()
        elif kind is n.Continue:
            raise ContinueSignal()
        elif kind is n.FunctionDef:
            self.functions[node.name.lower()] = node.block
        else:
            out.extend(enumerate_value(self.eval(node)))

    def loop(self, node, out: list):
        if isinstance(node, n.For) and node.init is not None:
            self.execute(node.init, [])
        while True:
            condition = node.condition
            if condition is not None and not to_bool(self.statement_value(condition)):
                return
            try:
                self.exec_block(node.body, out)
            except BreakSignal:
                return
            except ContinueSignal:
                pass
            if isinstance(node, n.For) and node.step is not None:
                self.execute(node.step, [])

    def execute_try(self, node: n.Try, out: list):
        self.try_depth += 1
        inside = True
        try:
            self.exec_block(node.body, out)
        except TerminatingError as exc:
            self.try_depth -= 1
            inside = False
            handler = self.find_catch(node.catches, exc.record)
            if handler is None:
                raise
            saved = self.vars.get("_", UNSET)
            self.vars["_"] = exc.record
            try:
                self.exec_block(handler, out)
            finally:
                self.restore("_", saved)
        finally:
            if inside:
                self.try_depth -= 1
            if node.finally_body is not None:
                self.exec_block(node.finally_body, out)

    def find_catch(self, catches: list, record: ErrorRecord):
        actual = record.exception.type_name.lower()
        for types, body in catches:
            if not types:
                return body
            for name in types:
                wanted = name.lower()
                wanted_full = wanted if "." in wanted else "system." + wanted
                if wanted in ("exception", "system.exception") or actual in (wanted, wanted_full) \
                        or actual.rsplit(".", 1)[-1] == wanted:
                    return body
                if wanted_full.endswith("runtimeexception") and actual.startswith("system.management.automation."):
                    return body
        return None

    def restore(self, name: str, saved):
        if saved is UNSET:
            self.vars.pop(name, None)
        else:
            self.vars[name] = saved

    def execute_throw(self, node: n.Throw):
        value = None if node.value is None else self.statement_value(node.value)
        extent = (node.start, node.end, self.source)
        if isinstance(value, ErrorRecord):
            raise TerminatingError(value, script=True)
        if value is None:
            current = self.vars.get("_")
            if isinstance(current, ErrorRecord):
                raise TerminatingError(current, script=True)
            message = "ScriptHalted"
        elif isinstance(value, PSException):
            record = ErrorRecord(value, value.short_name, "OperationStopped", extent=extent)
            raise TerminatingError(record, script=True)
        else:
            message = to_string(value)
        record = ErrorRecord(PSException("System.Management.Automation.RuntimeException", message),
                             message, "OperationStopped", target=message if value is not None else None,
                             extent=extent)
        raise TerminatingError(record, script=True)

    def statement_value(self, statement):
        """The value of a statement used as an expression (assignment right-hand side, if
        condition, hash value): a lone expression keeps its value, command output is unwrapped."""
        if isinstance(statement, n.Pipeline) and len(statement.elements) == 1 \
                and not isinstance(statement.elements[0], n.Command):
            return self.eval(statement.elements[0])
        if isinstance(statement, n.Assign):
            return self.assign(statement)
        out: list = []
        self.execute(statement, out)
        return unwrap(out)

    def assign(self, node: n.Assign):
        value = self.statement_value(node.value)
        target = node.target
        if node.op != "=":
            value = operators.binary(self, node.op[0], self.eval(target), value)
        if isinstance(target, n.Cast) and isinstance(target.operand, n.Var):
            value = convert(value, resolve_type(target.type_name))
            target = target.operand
        if isinstance(target, n.Var):
            self.set_var(target.name, value)
        elif isinstance(target, n.Member):
            name = target.name if isinstance(target.name, str) else to_string(self.eval(target.name))
            set_member(self.eval(target.target), name, value)
        elif isinstance(target, n.Index):
            set_index(self.eval(target.target), self.eval(target.index), value)
        else:
            raise runtime_error("The assignment expression is not valid. The input to an assignment "
                                "operator must be an object that is able to accept assignments, such "
                                "as a variable or a property.", "InvalidLeftHandSide")
        return value

    def run_pipeline(self, node: n.Pipeline, out: list):
        items = None
        for element in node.elements:
            if isinstance(element, n.Command):
                items = self.invoke_command(element, items)
            else:
                items = enumerate_value(self.eval(element))
        out.extend(items)

    # -- expressions --------------------------------------------------------------------------
    def eval(self, node):
        try:
            return self._eval(node)
        except TerminatingError as exc:
            if exc.record.extent is None:
                exc.record.extent = (node.start, max(node.end, node.start + 1), self.source)
            raise
        except ConversionError as exc:
            raise runtime_error(str(exc), exc.fqid, "InvalidArgument",
                                "System.Management.Automation.PSInvalidCastException",
                                extent=(node.start, max(node.end, node.start + 1), self.source)) from None

    def _eval(self, node):
        kind = type(node)
        if kind is n.Const:
            return node.value
        if kind is n.Var:
            return self.get_var(node.name)
        if kind is n.Member:
            return self.eval_member(node)
        if kind is n.Expand:
            return "".join(p if isinstance(p, str) else to_string(self.eval(p)) for p in node.parts)
        if kind is n.Binary:
            return self.eval_binary(node)
        if kind is n.Unary:
            return operators.unary(node.op, self.eval(node.operand))
        if kind is n.ArrayLiteral:
            return [self.eval(item) for item in node.items]
        if kind is n.ArrayExpr:
            out: list = []
            self.exec_block(node.body, out)
            return out
        if kind is n.SubExpr:
            out = []
            self.exec_block(node.body, out)
            return unwrap(out)
        if kind is n.Paren:
            return self.statement_value(node.statement)
        if kind is n.HashLiteral:
            table = Hashtable()
            for key_node, value_statement in node.pairs:
                key = self.eval(key_node)
                if table.find_key(key) is not None:
                    raise runtime_error(f"Duplicate keys '{key}' are not allowed in hash literals.",
                                        "DuplicateKeyInHashLiteral", "ParserError")
                table[key] = self.statement_value(value_statement)
            return table
        if kind is n.ScriptBlockExpr:
            return ScriptBlock(node, node.text)
        if kind is n.MethodCall:
            args = [self.eval(a) for a in node.args]
            if node.static:
                return call_static(self, self.type_of(node.target), node.name, args)
            return call_method(self, self.eval(node.target), node.name, args)
        if kind is n.Index:
            return get_index(self.eval(node.target), self.eval(node.index))
        if kind is n.Cast:
            type_full = resolve_type(node.type_name)
            value = self.eval(node.operand)
            return convert(value, type_full)
        if kind is n.TypeLiteral:
            return TypeInfo(resolve_type(node.type_name))
        raise runtime_error(f"Unsupported syntax: {kind.__name__}.", "NotSupported", "NotImplemented")

    def type_of(self, node) -> str:
        if isinstance(node, n.TypeLiteral):
            return resolve_type(node.type_name)
        value = self.eval(node)
        if isinstance(value, TypeInfo):
            return value.full_name
        raise runtime_error("Unable to find type.", "TypeNotFound")

    def eval_member(self, node: n.Member):
        name = node.name if isinstance(node.name, str) else to_string(self.eval(node.name))
        if node.static:
            return static_member(self, self.type_of(node.target), name)
        target = self.eval(node.target)
        value = get_member(target, name)
        if value is None and self.strict >= 2 and target is not None and not has_member(target, name):
            raise runtime_error(f"The property '{name}' cannot be found on this object. Verify that the "
                                f"property exists.", "PropertyNotFoundStrict", "NotSpecified",
                                "System.Management.Automation.PropertyNotFoundException")
        return value

    def eval_binary(self, node: n.Binary):
        op = node.op
        if op == "-and":
            return to_bool(self.eval(node.left)) and to_bool(self.eval(node.right))
        if op == "-or":
            return to_bool(self.eval(node.left)) or to_bool(self.eval(node.right))
        if op == "-xor":
            return to_bool(self.eval(node.left)) != to_bool(self.eval(node.right))
        return operators.binary(self, op, self.eval(node.left), self.eval(node.right))

    def convert(self, value, type_name: str):
        return convert(value, resolve_type(type_name) if "." not in type_name else type_name)
