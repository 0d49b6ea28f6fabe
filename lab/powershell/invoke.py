"""Finding a command, binding its parameters the way PowerShell does, and running it."""
from __future__ import annotations

import logging
import time
import types
from dataclasses import dataclass
from typing import Callable

from . import nodes as n
from .errors import CmdletError, CmdletWarning, ErrorRecord, PSException, TerminatingError
from .flow import UNSET, ExitSignal, ReturnSignal, enumerate_value, unwrap
from .members import get_member
from .values import ConversionError, PSEnum, ScriptBlock, to_bool, to_string

log = logging.getLogger("lab.powershell")


@dataclass
class Cmdlet:
    """A command a script can call: ``func(context, **params)`` with canonical parameter names.

    ``parameters`` maps each canonical name to ``"value"`` or ``"switch"``; only the parameters
    the script gave are passed (a switch as True, or its ``-Switch:$false`` value).
    ``func`` returns None, one object, or a list/generator of objects (a generator may yield
    ``CmdletError`` to write a non-terminating error and go on, or ``CmdletWarning``).
    ``type_name`` is the .NET class used in error ids (``NamedParameterNotFound,<type_name>``).
    """
    name: str
    func: Callable[..., object]
    parameters: dict[str, str]
    positional: tuple[str, ...] = ()
    pipeline: str | None = None
    type_name: str = ""
    module: str = ""
    supports_should_process: bool = False


@dataclass
class Builtin:
    """A command implemented inside the interpreter: ``run(interp, params, input, command)``
    receives the whole pipeline input (None when first in the pipeline) and returns a list."""
    name: str
    run: Callable
    parameters: dict[str, str]
    positional: tuple[str, ...] = ()
    pipeline: str | None = None
    type_name: str = ""
    module: str = "Microsoft.PowerShell.Utility"
    supports_should_process: bool = False
    remaining: str | None = None      # collects extra positional arguments (Write-Output a b)


COMMON = {"ErrorAction": "value", "WarningAction": "value", "InformationAction": "value",
          "ErrorVariable": "value", "WarningVariable": "value", "InformationVariable": "value",
          "OutVariable": "value", "OutBuffer": "value", "PipelineVariable": "value",
          "Verbose": "switch", "Debug": "switch"}
COMMON_ALIASES = {"ea": "ErrorAction", "wa": "WarningAction", "infa": "InformationAction",
                  "ev": "ErrorVariable", "wv": "WarningVariable", "iv": "InformationVariable",
                  "ov": "OutVariable", "ob": "OutBuffer", "pv": "PipelineVariable", "vb": "Verbose",
                  "db": "Debug"}
SHOULD_PROCESS = {"WhatIf": "switch", "Confirm": "switch"}
ACTIONS = ["SilentlyContinue", "Stop", "Continue", "Inquire", "Ignore", "Suspend"]
NOT_RECOGNIZED = ("The term '{0}' is not recognized as the name of a cmdlet, function, script "
                  "file, or operable program. Check the spelling of the name, or if a path was "
                  "included, verify that the path is correct and try again.")
NO_INPUT = object()


def _iterate(result):
    if result is None:
        return []
    if isinstance(result, (list, tuple, types.GeneratorType)) or (
            hasattr(result, "__next__") and not isinstance(result, (str, dict))):
        return result
    return [result]


class CommandInvoker:
    def __init__(self, cmdlets, sleep=None):
        from .commands import ALIASES, BUILTINS
        self.commands = {name.lower(): c for name, c in BUILTINS.items()}
        self.aliases = dict(ALIASES)
        for name, cmdlet in (cmdlets or {}).items():
            self.commands[name.lower()] = cmdlet
            self.commands[cmdlet.name.lower()] = cmdlet
            self.aliases.pop(name.lower(), None)
        self.sleep = sleep or time.sleep
        self.modules_loaded = False
        self.muted_warnings = 0      # 3>$null / *>$null around the commands being run

    def resolve(self, name: str):
        key = name.lower()
        if key in self.functions:
            return self.functions[key]
        if key in self.commands:
            return self.commands[key]
        if key in self.aliases:
            return self.commands.get(self.aliases[key].lower())
        return None

    # -- invocation ----------------------------------------------------------------------------
    def invoke_command(self, cmd: n.Command, input_items):
        target = cmd.name
        name_extent = (cmd.start, cmd.name_end, self.source)
        if not isinstance(target, str):
            value = self.eval(target)
            if isinstance(value, ScriptBlock):
                args = [v for kind, _, v, _ in self.evaluate_elements(cmd) if kind == "arg"]
                return self.with_redirections(cmd, lambda: self.run_block_command(value, args, input_items))
            target = to_string(value)
        command = self.resolve(target)
        if command is None:
            record = ErrorRecord(PSException("System.Management.Automation.CommandNotFoundException",
                                             NOT_RECOGNIZED.format(target)),
                                 "CommandNotFoundException", "ObjectNotFound", target=target,
                                 extent=name_extent, prefix=target)
            raise TerminatingError(record)
        return self.with_redirections(cmd, lambda: self.dispatch(command, cmd, input_items))

    def with_redirections(self, cmd: n.Command, run):
        sink = None
        discard_output = mute_warnings = False
        for stream, target in cmd.redirections:
            to_null = isinstance(target, n.Var) and target.name.lower() == "null"
            if not to_null and target != "&1":
                raise TerminatingError(ErrorRecord(
                    PSException("System.NotSupportedException", "The lab's hosts have no file system to "
                                "redirect output to; redirect to $null or use 2>&1."),
                    "RedirectionNotSupported", "NotImplemented", extent=(cmd.start, cmd.end, self.source)))
            if stream in ("2", "*"):
                sink = "null" if to_null else []
            if stream in ("1", "*") and to_null:
                discard_output = True
            if stream in ("3", "*") and to_null:
                mute_warnings = True
        if sink is not None:
            self.sinks.append(sink)
        self.muted_warnings += mute_warnings
        try:
            result = run()
        finally:
            self.muted_warnings -= mute_warnings
            if sink is not None:
                self.sinks.pop()
        if isinstance(sink, list):
            result = list(result) + sink
        return [] if discard_output else result

    def dispatch(self, command, cmd: n.Command, input_items):
        if isinstance(command, n.ScriptBlockExpr):
            elements = self.evaluate_elements(cmd)
            return self.run_function(command, elements, input_items)
        params = self.bind(command, cmd)
        if isinstance(command, Builtin):
            action = params.pop("ErrorAction", None)
            self.command_action = action
            try:
                return command.run(self, params, input_items, cmd)
            except ConversionError as exc:
                raise TerminatingError(ErrorRecord(
                    PSException("System.Management.Automation.PSInvalidCastException", str(exc)),
                    f"{exc.fqid},{command.type_name}", "InvalidArgument", activity=command.name,
                    extent=(cmd.start, cmd.end, self.source), prefix=command.name)) from None
        return self.run_cmdlet(command, params, input_items, cmd)

    def run_cmdlet(self, cmdlet: Cmdlet, params: dict, input_items, cmd: n.Command) -> list:
        if not self.modules_loaded and self.preference("Progress") != "silentlycontinue":
            self.streams.append(("progress", ""))
        self.modules_loaded = True
        action = params.pop("ErrorAction", None)
        warning_action = params.pop("WarningAction", None)
        for common in list(params):
            if common in cmdlet.parameters:
                continue
            if common in COMMON or common == "Confirm" or (
                    common == "WhatIf" and not cmdlet.supports_should_process):
                params.pop(common)
        extent = (cmd.start, cmd.end, self.source)
        results = []
        for item in ([NO_INPUT] if input_items is None else input_items):
            kwargs = dict(params)
            if item is not NO_INPUT:
                if cmdlet.pipeline is None:
                    self.write_error(self.binding_record(
                        cmdlet, "The input object cannot be bound to any parameters for the command "
                        "either because the command does not take pipeline input or the input and its "
                        "properties do not match any of the parameters that take pipeline input.",
                        "InputObjectNotBound", extent, target=item), action)
                    continue
                kwargs[cmdlet.pipeline] = item
            try:
                for obj in _iterate(cmdlet.func(self.context, **kwargs)):
                    if isinstance(obj, CmdletError):
                        self.cmdlet_error(obj, cmdlet, extent, action)
                    elif isinstance(obj, CmdletWarning):
                        self.write_warning(obj.message, warning_action)
                    else:
                        results.append(obj)
            except CmdletError as exc:
                self.cmdlet_error(exc, cmdlet, extent, action)
            except (TerminatingError, KeyboardInterrupt):
                raise
            except Exception as exc:
                log.exception("cmdlet %s failed", cmdlet.name)
                record = ErrorRecord(PSException("System.InvalidOperationException",
                                                 f"{type(exc).__name__}: {exc}"),
                                     f"InvalidOperation,{cmdlet.type_name or cmdlet.name}",
                                     "InvalidOperation", activity=cmdlet.name, extent=extent,
                                     prefix=cmdlet.name)
                raise TerminatingError(record) from exc
        return results

    def cmdlet_error(self, exc: CmdletError, command, extent, action):
        short = exc.exception.rsplit(".", 1)[-1]
        fqid = exc.fqid or f"{short},{command.type_name or command.name}"
        record = ErrorRecord(PSException(exc.exception, exc.message), fqid, exc.category,
                             target=exc.target, activity=command.name, extent=extent,
                             prefix=command.name)
        if exc.terminating:
            raise TerminatingError(record)
        self.write_error(record, action)

    def run_block_command(self, block: ScriptBlock, args: list, input_items) -> list:
        if input_items is None:
            return self.invoke_block(block, args=args)
        return self.invoke_block(block, args=args, input_items=input_items)

    def run_function(self, block: n.ScriptBlockExpr, elements: list, input_items) -> list:
        names = {name.lower(): name for name, _ in block.params}
        named, positional = {}, []
        i = 0
        while i < len(elements):
            kind, name, value, _node = elements[i]
            i += 1
            if kind == "param" and name.lower() in names:
                if value is NO_INPUT and i < len(elements) and elements[i][0] == "arg":
                    value = elements[i][2]
                    i += 1
                named[names[name.lower()]] = True if value is NO_INPUT else value
            else:
                positional.append("-" + name if kind == "param" else value)
        return self.invoke_block(ScriptBlock(block, block.text), args=positional, bound=named,
                                 input_items=input_items or [])

    # -- parameter binding ------------------------------------------------------------------------
    def evaluate_elements(self, cmd: n.Command) -> list:
        """[(kind, name, value, node)] with kind 'param' (value NO_INPUT when no -Name:value) or 'arg'."""
        out = []
        for element in cmd.elements:
            if isinstance(element, n.CommandSplat):
                value = self.get_var(element.variable)
                if isinstance(value, dict):
                    out.extend(("param", to_string(k), v, element) for k, v in value.items())
                elif isinstance(value, (list, tuple)):
                    out.extend(("arg", None, v, element) for v in value)
                elif value is not None:
                    out.append(("arg", None, value, element))
            elif isinstance(element, n.CommandParameter):
                value = NO_INPUT if element.value is None else self.eval(element.value)
                out.append(("param", element.name, value, element))
            else:
                out.append(("arg", None, self.eval(element.value), element))
        return out

    def binding_record(self, command, message: str, error_id: str, extent, target=None,
                       category: str = "InvalidArgument") -> ErrorRecord:
        return ErrorRecord(PSException("System.Management.Automation.ParameterBindingException", message),
                           f"{error_id},{command.type_name or command.name}", category,
                           target=target, activity=command.name, extent=extent, prefix=command.name,
                           target_type="" if target is None else None)

    def binding_error(self, command, message, error_id, node, target=None):
        extent = (node.start, node.end, self.source)
        return TerminatingError(self.binding_record(command, message, error_id, extent, target))

    def match_parameter(self, command, name: str, node):
        spec = dict(command.parameters)
        spec.update(COMMON)
        if command.supports_should_process or "WhatIf" in command.parameters:
            spec.update(SHOULD_PROCESS)
        spec.setdefault("Confirm", "switch")
        lname = name.lower()
        if lname in COMMON_ALIASES:
            return COMMON_ALIASES[lname], spec
        exact = [p for p in spec if p.lower() == lname]
        if exact:
            return exact[0], spec
        matches = [p for p in spec if p.lower().startswith(lname)]
        if len(matches) == 1:
            return matches[0], spec
        if matches:
            listed = " ".join("-" + m for m in matches)
            raise self.binding_error(command, f"Parameter cannot be processed because the parameter "
                                     f"name '{name}' is ambiguous. Possible matches include: {listed}.",
                                     "AmbiguousParameter", node)
        raise self.binding_error(command, f"A parameter cannot be found that matches parameter name "
                                 f"'{name}'.", "NamedParameterNotFound", node)

    def bind(self, command, cmd: n.Command) -> dict:
        elements = self.evaluate_elements(cmd)
        bound: dict = {}
        loose = []
        i = 0
        while i < len(elements):
            kind, name, value, node = elements[i]
            i += 1
            if kind == "arg":
                loose.append((value, node))
                continue
            canonical, spec = self.match_parameter(command, name, node)
            if canonical in bound:
                raise self.binding_error(
                    command, f"Cannot bind parameter because parameter '{canonical}' is specified more "
                    "than once. To provide multiple values to parameters that can accept multiple "
                    'values, use the array syntax. For example, "-parameter value1,value2,value3".',
                    "ParameterAlreadyBound", node)
            if spec[canonical] == "switch":
                bound[canonical] = True if value is NO_INPUT else to_bool(value)
                continue
            if value is NO_INPUT:
                if i < len(elements) and elements[i][0] == "arg":
                    value = elements[i][2]
                    i += 1
                else:
                    raise self.binding_error(
                        command, f"Missing an argument for parameter '{canonical}'. Specify a "
                        f"parameter of type 'System.Object' and try again.", "MissingArgument", node)
            bound[canonical] = value
        free = [p for p in command.positional if p not in bound]
        remaining = getattr(command, "remaining", None)
        for value, node in loose:
            if not free and remaining and remaining in bound and len(loose) > 1:
                bound[remaining] = (bound[remaining] if isinstance(bound[remaining], list)
                                    else [bound[remaining]]) + [value]
                continue
            if not free:
                raise self.binding_error(command, f"A positional parameter cannot be found that "
                                         f"accepts argument '{to_string(value)}'.",
                                         "PositionalParameterNotFound", node, target=None)
            bound[free.pop(0)] = value
        if "ErrorAction" in bound:
            bound["ErrorAction"] = self.action_name(command, bound["ErrorAction"], "ErrorAction", cmd)
        if "WarningAction" in bound:
            bound["WarningAction"] = self.action_name(command, bound["WarningAction"], "WarningAction", cmd)
        return bound

    def action_name(self, command, value, parameter: str, cmd) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= int(value) < len(ACTIONS):
            return ACTIONS[int(value)]
        text = to_string(value).strip()
        for action in ACTIONS:
            if action.lower() == text.lower():
                return action
        raise self.binding_error(
            command, f"Cannot bind parameter '{parameter}'. Cannot convert value \"{text}\" to type "
            f"\"System.Management.Automation.ActionPreference\". Error: \"Unable to match the "
            f"identifier name {text} to a valid enumerator name. Specify one of the following "
            f"enumerator names and try again:\r\n{', '.join(ACTIONS)}\"",
            "CannotConvertArgumentNoMessage", cmd)


    # -- script blocks ---------------------------------------------------------------------------
    def invoke_block(self, block: ScriptBlock, dollar_under=UNSET, args=(), input_items=None,
                     bound: dict | None = None) -> list:
        saved = {name: self.vars.get(name, UNSET) for name in ("_", "args", "input")}
        params = block.node.params
        for name, _default in params:
            saved.setdefault(name.lower(), self.vars.get(name.lower(), UNSET))
        if dollar_under is not UNSET:
            self.vars["_"] = dollar_under
        positional = list(args)
        bound = bound or {}
        for name, default in params:
            if name in bound:
                self.vars[name.lower()] = bound[name]
            else:
                self.vars[name.lower()] = positional.pop(0) if positional else (
                    None if default is None else self.eval(default))
        self.vars["args"] = positional
        if input_items is not None:
            self.vars["input"] = list(input_items)
        out: list = []
        outer_source = self.source
        if block.source is not None:
            self.source = block.source
        try:
            self.exec_block(block.node.body, out)
        except ReturnSignal:
            pass
        except ExitSignal:
            # what the block wrote before `exit` has already reached the host
            from .formatting import render
            self.stdout.extend(render(out))
            raise
        finally:
            self.source = outer_source
            for name, value in saved.items():
                self.restore(name, value)
        return out

    def intrinsic(self, value, name: str, args: list):
        """The ``.Where({...})`` and ``.ForEach({...})`` methods every value has."""
        items = [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]
        selector = args[0]
        if name == "where":
            return [item for item in items if to_bool(unwrap(self.invoke_block(selector, item)))]
        out = []
        for item in items:
            if isinstance(selector, ScriptBlock):
                out.extend(self.invoke_block(selector, item, args[1:]))
            else:
                out.extend(enumerate_value(get_member(item, to_string(selector))))
        return out


__all__ = ["Builtin", "Cmdlet", "CommandInvoker", "PSEnum"]
