"""Field validators shared by the fabric models: addresses, MACs, DNS names, image paths."""
import ipaddress
import re

from django.core.exceptions import ValidationError

_MAC = re.compile(r"^[0-9A-Fa-f]{2}([-:]?)[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$")
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def normalize_mac(value: str) -> str:
    """`00:15:5d:01:02:03`, `00-15-5D-01-02-03` or `00155D010203` → `00-15-5D-01-02-03` (Windows' form)."""
    digits = re.sub(r"[-:]", "", value).upper()
    return "-".join(digits[i:i + 2] for i in range(0, 12, 2))


def validate_mac_address(value: str) -> None:
    if not _MAC.match(value or ""):
        raise ValidationError(
            "%(value)s is not a MAC address (six hex pairs, e.g. 00-15-5D-01-02-03).",
            code="invalid_mac", params={"value": repr(value)},
        )


def is_dns_name(value: str) -> bool:
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    if all(label.isdigit() for label in labels):
        return False  # looks like an IPv4 address; it is not a name
    return all(_DNS_LABEL.match(label) for label in labels)


def validate_dns_name(value: str) -> None:
    if not is_dns_name(value or ""):
        raise ValidationError(
            "%(value)s is not a valid DNS name (letters, digits and hyphens, dot-separated).",
            code="invalid_dns_name", params={"value": repr(value)},
        )


def validate_host_address(value: str) -> None:
    """A management address: an IPv4/IPv6 address or a DNS name."""
    try:
        ipaddress.ip_address(value)
        return
    except ValueError:
        pass
    if not is_dns_name(value or ""):
        raise ValidationError(
            "%(value)s is neither an IP address nor a DNS name.", code="invalid_address", params={"value": repr(value)}
        )


def validate_vhd_path(value: str) -> None:
    if not re.search(r"\.vhdx?$", value or "", re.IGNORECASE):
        raise ValidationError("An image is a .vhdx or .vhd file.", code="invalid_vhd_path")
    if not (value.startswith("\\\\") or re.match(r"^[A-Za-z]:\\", value)):
        raise ValidationError(
            "Give a full path: a share (\\\\server\\share\\file.vhdx) or a local path (D:\\Images\\file.vhdx).",
            code="invalid_vhd_path",
        )
