"""Component tables: adding, building, and the errors for names and options."""

import pytest

from pulsecl.errors import ConfigError, DuplicateComponentError, UnknownComponentError
from pulsecl.registry import KINDS, Registry, canonical_kind, lazy


def factory(alpha: float = 1.0, beta: int = 2):
    """Make a tuple."""
    return (alpha, beta)


def test_add_and_build_passes_options():
    table = Registry("losses")
    table.add("tuple", factory)
    assert table.build("tuple", alpha=3.0) == (3.0, 2)
    assert table.names() == ["tuple"]
    assert table.get("tuple").description == "Make a tuple."
    assert table.get("tuple").options() == {"alpha": 1.0, "beta": 2}


def test_unknown_name_lists_what_exists_and_suggests():
    table = Registry("backbones")
    table.add("physnet", factory)
    table.add("tscan", factory)
    with pytest.raises(UnknownComponentError) as err:
        table.get("physnt")
    assert str(err.value) == (
        "unknown backbones 'physnt'; did you mean 'physnet'? (available: physnet, tscan)"
    )


def test_unknown_name_in_empty_table():
    with pytest.raises(UnknownComponentError, match=r"\(available: none registered\)"):
        Registry("metrics").get("mae")


def test_unknown_option_lists_options_and_suggests():
    table = Registry("losses")
    table.add("tuple", factory)
    with pytest.raises(ConfigError) as err:
        table.build("tuple", alhpa=1.0)
    assert str(err.value) == (
        "losses 'tuple' has no option 'alhpa'; did you mean 'alpha'? (options: alpha, beta)"
    )


def test_duplicate_names_both_plugins():
    table = Registry("losses")
    table._for_plugin("first").add("mvtl", factory)
    with pytest.raises(DuplicateComponentError) as err:
        table._for_plugin("second").add("mvtl", factory)
    assert str(err.value) == (
        "losses 'mvtl' is registered twice: by plugin 'first' and by plugin 'second'; "
        "disable one of them (PULSECL_DISABLE_PLUGINS=second) or rename the component"
    )


def test_canonical_kind_accepts_singular_and_dashes():
    assert canonical_kind("backbone") == "backbones"
    assert canonical_kind("view-generators") == "view_generators"  # deprecated, still known
    assert canonical_kind("proxy-task") == "proxy_tasks" and canonical_kind("augmentation") == "augmentations"
    assert set(KINDS) >= {"backbones", "losses", "metrics", "classical_methods"}
    with pytest.raises(UnknownComponentError, match="unknown component kind 'lossess'; did you mean 'losses'"):
        canonical_kind("lossess")


def test_lazy_factory_imports_on_first_build_and_checks_options():
    table = Registry("metrics")
    table.add("fraction", lazy("fractions:Fraction"))
    assert table.build("fraction", numerator=3, denominator=4) == 0.75
    with pytest.raises(ValueError, match="package.module:attr"):
        lazy("fractions.Fraction")
