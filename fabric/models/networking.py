import ipaddress

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction


def parse_network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise ValidationError({"cidr": f"{cidr!r} is not a network in CIDR notation (e.g. 10.0.0.0/24): {exc}"})


class LogicalNetwork(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Subnet(models.Model):
    logical_network = models.ForeignKey(LogicalNetwork, on_delete=models.CASCADE, related_name="subnets")
    name = models.CharField(max_length=100, unique=True)
    cidr = models.CharField("subnet (CIDR)", max_length=43, unique=True)
    vlan = models.PositiveIntegerField("VLAN ID", default=0, validators=[MaxValueValidator(4094)])
    gateway = models.GenericIPAddressField(null=True, blank=True)
    dns_servers = models.CharField("DNS servers", max_length=300, blank=True, help_text="Comma-separated")
    dns_suffix = models.CharField("DNS suffix", max_length=255, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.cidr})"

    @property
    def network(self):
        return ipaddress.ip_network(self.cidr)

    def dns_list(self) -> list[str]:
        return [s.strip() for s in self.dns_servers.split(",") if s.strip()]

    def clean(self):
        network = parse_network(self.cidr or "")
        errors = {}
        if self.gateway and ipaddress.ip_address(self.gateway) not in network:
            errors["gateway"] = f"The gateway {self.gateway} is not inside {self.cidr}."
        for server in self.dns_list():
            try:
                ipaddress.ip_address(server)
            except ValueError:
                errors["dns_servers"] = f"{server!r} is not an IP address."
        if errors:
            raise ValidationError(errors)


class StaticIPPool(models.Model):
    subnet = models.ForeignKey(Subnet, on_delete=models.CASCADE, related_name="pools")
    name = models.CharField(max_length=100, unique=True)
    range_start = models.GenericIPAddressField()
    range_end = models.GenericIPAddressField()

    class Meta:
        ordering = ["name"]
        verbose_name = "static IP pool"

    def __str__(self):
        return f"{self.name} ({self.range_start}–{self.range_end})"

    def bounds(self):
        return ipaddress.ip_address(self.range_start), ipaddress.ip_address(self.range_end)

    @property
    def size(self) -> int:
        start, end = self.bounds()
        return int(end) - int(start) + 1

    def clean(self):
        if not (self.subnet_id and self.range_start and self.range_end):
            return
        network = self.subnet.network
        start, end = self.bounds()
        errors = {}
        if start not in network:
            errors["range_start"] = f"{start} is outside the subnet {network}."
        if end not in network:
            errors["range_end"] = f"{end} is outside the subnet {network}."
        if not errors and int(start) > int(end):
            errors["range_end"] = "The range ends before it starts."
        if errors:
            raise ValidationError(errors)
        for other in StaticIPPool.objects.filter(subnet=self.subnet).exclude(pk=self.pk):
            o_start, o_end = other.bounds()
            if int(start) <= int(o_end) and int(o_start) <= int(end):
                raise ValidationError({"range_start": f"The range overlaps the pool {other.name} ({o_start}–{o_end})."})

    @transaction.atomic
    def allocate(self, description: str = "", host=None) -> "IPAllocation":
        """Take the lowest free address of the pool (rows locked so two jobs never get the same one)."""
        pool = StaticIPPool.objects.select_for_update().get(pk=self.pk)
        taken = {ipaddress.ip_address(a) for a in pool.allocations.values_list("address", flat=True)}
        start, end = pool.bounds()
        reserved = {ipaddress.ip_address(pool.subnet.gateway)} if pool.subnet.gateway else set()
        for value in range(int(start), int(end) + 1):
            address = ipaddress.ip_address(value)
            if address not in taken and address not in reserved:
                return IPAllocation.objects.create(pool=pool, address=str(address), description=description, host=host)
        raise ValidationError(f"The pool {pool.name} has no free address left.")


class IPAllocation(models.Model):
    pool = models.ForeignKey(StaticIPPool, on_delete=models.CASCADE, related_name="allocations")
    address = models.GenericIPAddressField()
    host = models.ForeignKey("fabric.Host", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    description = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pool", "address"]
        constraints = [models.UniqueConstraint(fields=["pool", "address"], name="ipallocation_unique_in_pool")]

    def __str__(self):
        return self.address
