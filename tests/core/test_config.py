"""Config: TOML into dataclasses, unknown keys, --set overrides, presets, round trip."""

import dataclasses

import pytest

from pulsecl.config import (
    Config,
    apply_override,
    config_hash,
    dump_toml,
    load_config,
    presets,
)
from pulsecl.errors import ConfigError


def test_defaults_without_a_file():
    config = load_config()
    assert config == Config()
    assert config.signal.band_bpm == [40.0, 250.0]
    assert config.train.mode == "contrastive"


def test_file_overrides_defaults_and_types_are_checked(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[train]\nepochs = 3\nlr = 1\n[model]\noptions = {channels = 8}\n')
    config = load_config(path)
    assert config.train.epochs == 3
    assert config.train.lr == 1.0 and isinstance(config.train.lr, float)
    assert config.model.options == {"channels": 8}  # a table replaces the default table
    assert config.train.batch_size == Config().train.batch_size


def test_unknown_key_names_key_and_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[train]\nepohcs = 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(
        f"{path}: unknown key 'train.epohcs'; did you mean 'epochs'? (keys in [train]: mode, epochs,"
    )


def test_unknown_section_names_section_and_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[trian]\nepochs = 3\n")
    with pytest.raises(ConfigError, match=r"bad.toml: unknown section 'trian'; did you mean 'train'\?"):
        load_config(path)


def test_wrong_type_is_an_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[train]\nepochs = "many"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: 'train.epochs' must be int, got str 'many'"


def test_invalid_toml_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[train\n")
    with pytest.raises(ConfigError, match=r"broken.toml: not valid TOML"):
        load_config(path)


def test_missing_file_and_unknown_preset():
    with pytest.raises(ConfigError, match=r"config file 'nope/none.toml' does not exist"):
        load_config("nope/none.toml")
    with pytest.raises(ConfigError, match=r"unknown config preset 'defualt'; did you mean 'default'\?"):
        load_config("defualt")


def test_set_overrides_any_key_with_typed_values():
    config = load_config(
        overrides=[
            "train.epochs=5",
            "train.amp=false",
            "signal.band_bpm=[45, 150]",
            "model.backbone=mynet",
            "model.options.channels=16",
            "loss.weights.ipr=0.5",
        ]
    )
    assert config.train.epochs == 5
    assert config.train.amp is False
    assert config.signal.band_bpm == [45.0, 150.0]
    assert config.model.backbone == "mynet"
    assert config.model.options["channels"] == 16
    assert config.model.options["norm"] == "chromatic"  # the rest of the table is kept
    assert config.loss.weights["ipr"] == 0.5 and config.loss.weights["mvtl"] == 1.0


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.epochs", "--set 'train.epochs': expected section.key=value"),
        ("epochs=3", "--set 'epochs=3': expected section.key=value, e.g. train.epochs=3"),
        ("train.epoch=3", "--set: unknown key 'train.epoch'; did you mean 'epochs'?"),
        ("train.epochs=three", "--set: 'train.epochs' must be int, got str 'three'"),
    ],
)
def test_bad_overrides(override, message):
    with pytest.raises(ConfigError) as err:
        apply_override(Config(), override)
    assert str(err.value).startswith(message)


def test_cross_field_validation():
    with pytest.raises(ConfigError, match=r"signal.band_bpm = \[150.0, 45.0\]"):
        load_config(overrides=["signal.band_bpm=[150, 45]"])
    with pytest.raises(ConfigError, match="train.mode = 'semi'"):
        load_config(overrides=["train.mode=semi"])


def test_dump_loads_back_to_the_same_config(tmp_path):
    config = load_config(overrides=["train.epochs=9", "model.options.channels=12"])
    path = tmp_path / "resolved.toml"
    path.write_text(dump_toml(config))
    assert load_config(path) == config
    assert config_hash(load_config(path)) == config_hash(config)
    assert config_hash(config) != config_hash(Config())


def test_every_field_has_a_documenting_comment():
    """Defaults are documented: each field line in config.py carries a comment or its
    section docstring explains it."""
    import inspect

    import pulsecl.config as mod

    source = inspect.getsource(mod)
    for section in dataclasses.fields(Config):
        cls = type(getattr(Config(), section.name))
        assert cls.__doc__, cls
    assert "default" in presets()
    assert source.count("  # ") > 40


def test_presets_load():
    for name in presets():
        assert isinstance(load_config(name), Config)
