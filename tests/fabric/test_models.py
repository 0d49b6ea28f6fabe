"""Model rules that do not need a page: the group tree, address helpers, pool allocation."""
import pytest
from django.core.exceptions import ValidationError

from fabric.models import HostGroup
from fabric.models.grouptree import GroupTree
from fabric.models.validators import is_dns_name, normalize_mac, validate_host_address
from tests import factories


def test_group_tree_in_one_query(django_assert_num_queries, db):
    europe = factories.group("Europe")
    paris = factories.group("Paris", parent=europe)
    rack = factories.group("Rack 1", parent=paris)
    factories.group("America")
    with django_assert_num_queries(1):
        tree = GroupTree.load()
    assert sorted(tree.descendant_ids(europe.pk)) == sorted([europe.pk, paris.pk, rack.pk])
    assert tree.path(rack.pk) == "All Hosts › Europe › Paris › Rack 1"
    assert [g.name for g, _ in tree.flat(exclude_below=paris.pk)] == ["All Hosts", "America", "Europe"]
    nodes = tree.nodes({rack.pk: 2, europe.pk: 1}, selected_id=rack.pk)
    root = nodes[0]
    assert root.host_count == 3 and root.open
    europe_node = next(n for n in root.children if n.group.name == "Europe")
    assert europe_node.host_count == 3 and europe_node.open and not europe_node.selected


def test_model_rejects_a_cycle_even_without_the_form(db):
    parent = factories.group("A")
    child = factories.group("B", parent=parent)
    parent.parent = child
    with pytest.raises(ValidationError, match="under itself"):
        parent.full_clean()


@pytest.mark.parametrize("raw,normal", [
    ("00:15:5d:01:02:0a", "00-15-5D-01-02-0A"), ("00155D01020A", "00-15-5D-01-02-0A"),
    ("00-15-5D-01-02-0A", "00-15-5D-01-02-0A"),
])
def test_mac_normalisation(raw, normal):
    assert normalize_mac(raw) == normal


@pytest.mark.parametrize("value,ok", [
    ("hv01.contoso.example", True), ("10.0.0.1", True), ("fe80::1", True), ("HV-01", True),
    ("10.0.0.256", False), ("-bad.example", False), ("a..b", False), ("has space", False), ("", False),
])
def test_management_address(value, ok):
    if ok:
        validate_host_address(value)
    else:
        with pytest.raises(ValidationError):
            validate_host_address(value)
    assert is_dns_name("contoso.example.") and not is_dns_name("1.2.3.4")


def test_pool_allocates_lowest_free_address_skipping_the_gateway_until_full(db):
    sub = factories.subnet(cidr="192.168.5.0/29", gateway="192.168.5.2")
    pool = factories.pool(sub, "192.168.5.1", "192.168.5.3")
    assert [pool.allocate().address for _ in range(2)] == ["192.168.5.1", "192.168.5.3"]
    with pytest.raises(ValidationError, match="no free address"):
        pool.allocate()


def test_root_group_exists_after_migrations(db):
    assert HostGroup.objects.get(parent=None).name == "All Hosts"
