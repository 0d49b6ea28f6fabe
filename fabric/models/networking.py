import ipaddress

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models, transaction
from django.urls import reverse

from fabric.models.validators import validate_dns_name


def parse_network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if "/" not in cidr:
        raise ValidationError({"cidr": f"{cidr!r} has no prefix length: write the network as 10.0.0.0/24."})
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

    def get_absolute_url(self):
        return reverse("fabric:logicalnetwork_detail", args=[self.pk])


class Subnet(models.Model):
    logical_network = models.ForeignKey(LogicalNetwork, on_delete=models.CASCADE, related_name="subnets")
    name = models.CharField(max_length=100, unique=True)
    cidr = models.CharField("subnet (CIDR)", max_length=43, unique=True)
    vlan = models.PositiveIntegerField("VLAN ID", default=0, validators=[MaxValueValidator(4094)])
    gateway = models.GenericIPAddressField(null=True, blank=True)
    dns_servers = models.CharField("DNS servers", max_length=300, blank=True, help_text="Comma-separated")
    dns_suffix = models.CharField("DNS suffix", max_length=255, blank=True, validators=[validate_dns_name])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.cidr})"

    def get_absolute_url(self):
        return reverse("fabric:subnet_detail", args=[self.pk])

    @property
    def network(self):
        return ipaddress.ip_network(self.cidr)

    def dns_list(self) -> list[str]:
        return [s.strip() for s in self.dns_servers.split(",") if s.strip()]

    def clean(self):
        errors = {}
        network = None
        if self.cidr:  # empty: the required field reports it
            try:
                network = parse_network(self.cidr.strip())
                self.cidr = str(network)
            except ValidationError as exc:
                errors.update(exc.message_dict)
        if self.gateway and network is not None:
            try:
                gateway = ipaddress.ip_address(self.gateway)
            except ValueError:
                gateway = None  # reported by the field itself
            if gateway is not None and gateway not in network:
                errors["gateway"] = f"The gateway {self.gateway} is not inside {self.cidr}."
            elif gateway is not None and network.num_addresses > 2 and gateway in (
                network.network_address, getattr(network, "broadcast_address", None)
            ):
                errors["gateway"] = f"{self.gateway} is the network or broadcast address of {self.cidr}, not a host."
        for server in self.dns_list():
            try:
                ipaddress.ip_address(server)
            except ValueError:
                errors["dns_servers"] = f"{server!r} is not an IP address."
        if network is not None:
            for other in Subnet.objects.exclude(pk=self.pk).select_related("logical_network"):
                other_network = ipaddress.ip_network(other.cidr)
                if other_network.version == network.version and network.overlaps(other_network):
                    errors["cidr"] = (
                        f"{self.cidr} overlaps the subnet {other.name} ({other.cidr}) of {other.logical_network.name}."
                    )
                    break
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

    def get_absolute_url(self):
        return reverse("fabric:pool_detail", args=[self.pk])

    def bounds(self):
        return ipaddress.ip_address(self.range_start), ipaddress.ip_address(self.range_end)

    @property
    def size(self) -> int:
        start, end = self.bounds()
        return int(end) - int(start) + 1

    def clean(self):
        if not (self.subnet_id and self.range_start and self.range_end):
            return
        try:
            start, end = self.bounds()
        except ValueError:
            return  # an address field reports its own error
        network = self.subnet.network
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
        if self.pk:
            outside = [
                a for a in IPAllocation.objects.filter(pool_id=self.pk).values_list("address", flat=True)
                if not int(start) <= int(ipaddress.ip_address(a)) <= int(end)
            ]
            if outside:
                raise ValidationError({
                    "range_start": f"Allocated addresses would fall outside the new range: {', '.join(outside[:5])}"
                    + (" …" if len(outside) > 5 else "") + ". Release them first."
                })

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
