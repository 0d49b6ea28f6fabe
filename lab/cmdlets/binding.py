"""What PowerShell refuses before a cmdlet runs (missing mandatory parameters, parameters from two
parameter sets, values an enum does not know) and the not-found errors of CDXML cmdlets
(NetAdapter, NetTCPIP, DnsClient, Storage, SmbShare), with the messages and error ids Windows
PowerShell 5.1 gives. Binding errors stop the statement whatever $ErrorActionPreference says."""
from __future__ import annotations

from lab.cmdlets.common import names_of
from lab.powershell.errors import CmdletError
from lab.powershell.operators import like

BINDING_EXCEPTION = "System.Management.Automation.ParameterBindingException"
CIM_JOB_EXCEPTION = "Microsoft.PowerShell.Cmdletization.Cim.CimJobException"
WILDCARDS = "*?["


def _binding(message: str, error_id: str, command_type: str, category: str = "InvalidArgument",
             exception: str = BINDING_EXCEPTION) -> CmdletError:
    return CmdletError(message, category=category, fqid=f"{error_id},{command_type}", exception=exception,
                       terminating=True)


def require(command_type: str, **values) -> None:
    """Mandatory parameters of the parameter set in use: none of them may be left out."""
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise _binding("Cannot process command because of one or more missing mandatory parameters: "
                       f"{' '.join(missing)}.", "MissingMandatoryParameter", command_type)


def not_empty(value, parameter: str, command_type: str) -> None:
    """[ValidateNotNullOrEmpty] and mandatory string parameters: '' is refused."""
    for item in value if isinstance(value, list) else [value]:
        if item is None or str(item) == "":
            what = "null" if item is None else "an empty string"
            error_id = ("ParameterArgumentValidationErrorNullNotAllowed" if item is None
                        else "ParameterArgumentValidationErrorEmptyStringNotAllowed")
            raise _binding(f"Cannot bind argument to parameter '{parameter}' because it is {what}.", error_id,
                           command_type, category="InvalidData")


def one_set(command_type: str, *sets: dict) -> None:
    """Each dict is the parameters only one parameter set has: using two of them is ambiguous."""
    used = [s for s in sets if any(v is not None and v is not False for v in s.values())]
    if len(used) > 1:
        raise _binding("Parameter set cannot be resolved using the specified named parameters.",
                       "AmbiguousParameterSet", command_type)


def enum_values(value, names: dict[str, int], parameter: str, type_name: str, command_type: str) -> list[int]:
    """An enum parameter (one value or an array): names case-insensitively, or the numbers they stand for."""
    out = []
    for item in names_of(value):
        text = item.strip()
        for name, number in names.items():
            if text.lower() == name.lower() or text == str(number):
                out.append(number)
                break
        else:
            raise _binding(f"Cannot bind parameter '{parameter}'. Cannot convert value \"{text}\" to type "
                           f"\"{type_name}\". Error: \"Unable to match the identifier name {text} to a valid "
                           f"enumerator name. Specify one of the following enumerator names and try again:\r\n"
                           f"{', '.join(names)}\"", "CannotConvertArgumentNoMessage", command_type)
    return out


def unsigned(value, parameter: str, type_name: str, command_type: str) -> list[int]:
    """A UInt32[] (or UInt16[]) parameter."""
    out = []
    for item in names_of(value):
        try:
            number = int(str(item).strip())
            if number < 0:
                raise ValueError
        except ValueError:
            raise _binding(f"Cannot bind parameter '{parameter}'. Cannot convert value \"{item}\" to type "
                           f"\"{type_name}\". Error: \"Input string was not in a correct format.\"",
                           "CannotConvertArgumentNoMessage", command_type) from None
        out.append(number)
    return out


def has_wildcard(text: str) -> bool:
    return any(c in text for c in WILDCARDS)


def matches(value: str, patterns: list[str]) -> bool:
    """Does `value` match one of the patterns (PowerShell wildcards, case-insensitive)?"""
    return any(like(value, p) for p in patterns)


def cdxml_not_found(class_name: str, parameter: str, value, cmdlet: str) -> CmdletError:
    """A CDXML cmdlet asked for a key property value that matches nothing (and has no wildcard)."""
    return CmdletError(f"No {class_name} objects found with property '{parameter}' equal to '{value}'.  Verify the "
                       f"value of the property and retry.", category="ObjectNotFound",
                       fqid=f"CmdletizationQuery_NotFound_{parameter},{cmdlet}", exception=CIM_JOB_EXCEPTION,
                       target=str(value))


def cdxml_query_not_found(namespace: str, class_name: str, where: list[str], cmdlet: str) -> CmdletError:
    """A CDXML cmdlet whose filters (a WQL query) match nothing."""
    clause = " AND ".join(f"({w})" for w in where)
    return CmdletError(f"No matching {class_name} objects found by CIM query for instances of the "
                       f"{namespace}/{class_name} class on the  CIM server: SELECT * FROM {class_name}  WHERE "
                       f"{clause}. Verify query parameters and retry.", category="ObjectNotFound",
                       fqid=f"CmdletizationQuery_NotFound,{cmdlet}", exception=CIM_JOB_EXCEPTION,
                       target=class_name)


def like_clause(parameter: str, values: list[str]) -> str:
    """How a CDXML cmdlet writes a string filter in its query: (A LIKE 'x') OR (A LIKE 'y')."""
    return " OR ".join(f"({parameter} LIKE '{v.replace('*', '%')}')" for v in values)
