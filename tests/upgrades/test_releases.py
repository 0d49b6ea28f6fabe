import pytest

from upgrades import releases as rel


def test_every_release_has_its_build_level_and_vm_version():
    table = {r.name: (r.build, r.functional_level, r.vm_version) for r in rel.RELEASES}
    assert table == {
        "Windows Server 2012 R2": (9600, 8, "5.0"),
        "Windows Server 2016": (14393, 9, "8.0"),
        "Windows Server 2019": (17763, 10, "9.0"),
        "Windows Server 2022": (20348, 11, "10.0"),
        "Windows Server 2025": (26100, 12, "12.0"),
    }


def test_lookup_by_build_and_level():
    assert rel.by_build(20348).key == "2022"
    assert rel.by_build("17763").key == "2019"
    assert rel.by_functional_level(12).name == "Windows Server 2025"
    with pytest.raises(rel.UnknownRelease, match="Build 22000"):
        rel.by_build(22000)
    with pytest.raises(rel.UnknownRelease):
        rel.by_functional_level(None)
    assert rel.release_of_build(None) is None


@pytest.mark.parametrize("current,target", [
    ("2012R2", "2016"), ("2016", "2019"), ("2016", "2022"), ("2019", "2022"), ("2019", "2025"), ("2022", "2025"),
])
def test_allowed_rolling_upgrades(current, target):
    assert rel.rolling_upgrade_refusal(rel.BY_KEY[current], rel.BY_KEY[target]) is None


@pytest.mark.parametrize("current,target,reason", [
    ("2012R2", "2019", "starts from Windows Server 2016, not from Windows Server 2012 R2"),
    ("2016", "2025", "not from Windows Server 2016"),
    ("2022", "2019", "older"),
    ("2022", "2022", "already runs"),
])
def test_refused_rolling_upgrades(current, target, reason):
    assert reason in rel.rolling_upgrade_refusal(rel.BY_KEY[current], rel.BY_KEY[target])


def test_a_cluster_takes_nodes_of_its_level_and_the_next_release_only():
    assert rel.joinable(10, rel.BY_KEY["2019"])
    assert rel.joinable(10, rel.BY_KEY["2022"])
    assert not rel.joinable(10, rel.BY_KEY["2025"])
    assert not rel.joinable(10, rel.BY_KEY["2016"])


def test_functional_level_can_rise_only_when_every_node_is_newer():
    assert rel.can_raise_functional_level(10, [20348, 20348]).functional_level == 11
    assert rel.can_raise_functional_level(10, [20348, 17763]) is None
    assert rel.can_raise_functional_level(11, [20348, 20348]) is None
    assert rel.can_raise_functional_level(10, [20348, None]) is None


def test_mixed_mode():
    assert rel.is_mixed_mode(10, [17763, 20348])
    assert rel.is_mixed_mode(10, [20348, 20348])        # upgraded, functional level not raised
    assert not rel.is_mixed_mode(10, [17763, 17763])
    assert not rel.is_mixed_mode(11, [20348])
    assert not rel.is_mixed_mode(None, [17763])
