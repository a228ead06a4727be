"""Suite files: parsing, the cells and tasks they give, and their errors (named)."""

from pathlib import Path

import pytest

from bench_helpers import TINY_SYNTH, write_suite
from pulsecl.bench import load_suite, parse_shard
from pulsecl.bench.runner import dataset_root
from pulsecl.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"


def test_the_shipped_suites_parse_and_quick_is_the_built_in_one():
    names = {p.stem for p in BENCHMARKS.glob("*.toml")}
    assert {"quick", "synthetic-hard", "ubfc-rppg", "pure"} <= names
    for path in BENCHMARKS.glob("*.toml"):
        suite = load_suite(path)
        assert suite.cells(), path
    built_in = load_suite("quick")
    assert (BENCHMARKS / "quick.toml").read_bytes() == built_in.source.read_bytes()


def test_quick_trains_the_small_default_on_unlabelled_data_beside_three_classical_methods():
    from pulsecl.bench.runner import recipe_config

    suite = load_suite("quick")
    assert sorted(c.id for c in suite.cells()) == sorted(f"{d}/{m}" for d in ("test", "motion", "realistic")
                                                         for m in ("self-supervised/s0", "POS", "CHROM", "GREEN"))
    assert suite.datasets["motion"].synthetic["periodic_motion"] == 0.03  # nodding inside the band
    assert suite.datasets["realistic"].synthetic["preset"] == "realistic" and "preprocess.roi=full" in suite.datasets["realistic"].set
    assert suite.methods["self-supervised"].min_steps == 60
    assert [suite.methods[m].method for m in ("POS", "CHROM", "GREEN")] == ["pos", "chrom", "green"]
    config = recipe_config(suite, "self-supervised", 0, Path("/data"), Path("/out"))
    assert config.train.mode == "contrastive"  # the trainer never reads labels in this mode
    assert (config.preprocess.size, config.model.options["channels"], config.data.clip_frames, config.train.batch_size) == (32, 32, 128, 8)
    assert config.train.time_budget_s == 420
    assert not suite.datasets["train"].evaluate


def test_cells_are_methods_x_datasets_x_seeds_for_recipes_and_one_seed_for_deterministic_methods(tmp_path):
    path = write_suite(
        tmp_path,
        f"""
        [suite]
        seeds = [3, 5]
        [datasets.train]
        synthetic = {TINY_SYNTH}
        evaluate = false
        [datasets.a]
        synthetic = {TINY_SYNTH}
        [datasets.b]
        path = "elsewhere"
        [methods.ssl]
        kind = "recipe"
        train_data = "train"
        [methods.POS]
        kind = "classical"
        method = "pos"
        [methods.ckpt]
        kind = "checkpoint"
        path = "model.pt"
        """,
    )
    suite = load_suite(path)
    assert [c.id for c in suite.cells()] == [
        "a/ssl/s3", "b/ssl/s3", "a/ssl/s5", "b/ssl/s5", "a/POS", "b/POS", "a/ckpt", "b/ckpt",
    ]
    tasks = suite.tasks()
    assert [(t.method, t.seed, t.run, len(t.cells)) for t in tasks] == [
        ("ssl", 3, "ssl-s3", 2), ("ssl", 5, "ssl-s5", 2),
        ("POS", 3, None, 1), ("POS", 3, None, 1), ("ckpt", 3, None, 1), ("ckpt", 3, None, 1),
    ]
    assert suite.resolve_path("elsewhere") == tmp_path / "elsewhere"
    assert suite.cells()[0].filename == "a--ssl--s3.json"
    # A cell's key follows its own settings only.
    before = {c.id: suite.cell_key(c) for c in suite.cells()}
    path.write_text(path.read_text().replace('method = "pos"', 'method = "pos"\noptions = { window_s = 1.0 }'))
    after = {c.id: load_suite(path).cell_key(c) for c in suite.cells()}
    assert [k for k in before if before[k] != after[k]] == ["a/POS", "b/POS"]


def _error(tmp_path, body: str, exc=ConfigError) -> str:
    path = write_suite(tmp_path, body)
    with pytest.raises(exc) as info:
        load_suite(path)
    message = str(info.value)
    assert "\n" not in message
    return message


DATASET = f"""
[datasets.a]
synthetic = {TINY_SYNTH}
"""


@pytest.mark.parametrize(
    "body, expected",
    [
        (DATASET + '[methods.X]\nkind = "classical"\nmethod = "poss"\n', ["methods.X.method", "'poss'", "did you mean 'pos'"]),
        (DATASET + '[methods.X]\nkind = "classical"\nmethod = "pos"\noptions = { windw_s = 1.0 }\n', ["methods.X.options", "windw_s", "window_s"]),
        (DATASET + '[methods.X]\nkind = "recipe"\ntrain_data = "trian"\n', ["methods.X.train_data", "'trian'", "(datasets: a)"]),
        (DATASET + '[methods.X]\nkind = "classical"\nmethod = "pos"\noptons = {}\n', ["unknown key 'methods.X.optons'", "did you mean 'options'"]),
        (DATASET + '[methods.X]\nkind = "clasical"\nmethod = "pos"\n', ["methods.X.kind", "did you mean 'classical'"]),
        (DATASET + '[methods.X]\nkind = "recipe"\ntrain_data = "a"\nset = ["train.epoch=3"]\n', ["methods.X.set", "train.epoch", "did you mean 'epochs'"]),
        (DATASET + '[methods.X]\nkind = "checkpoint"\n', ["methods.X", "needs path"]),
        ('[datasets.a]\npath = "x"\ndataset = "ubfc"\n[methods.P]\nkind = "classical"\nmethod = "pos"\n', ["datasets.a.dataset", "'ubfc'", "did you mean 'ubfc-rppg'"]),
        ('[datasets.a]\npaht = "x"\n[methods.P]\nkind = "classical"\nmethod = "pos"\n', ["unknown key 'datasets.a.paht'", "did you mean 'path'"]),
        ('[datasets.a]\nsynthetic = { n = 2, motoin = 1.0 }\n[methods.P]\nkind = "classical"\nmethod = "pos"\n', ["datasets.a.synthetic.motoin"]),
        ('[datasets.a]\nsynthetic = { n = 2, fps = 0.5 }\n[methods.P]\nkind = "classical"\nmethod = "pos"\n', ["datasets.a.synthetic", "fps"]),
        ('[datasets.a]\ndataset = "pure"\n[methods.P]\nkind = "classical"\nmethod = "pos"\n', ["datasets.a", "needs one of synthetic"]),
        ('[datasets.a]\npath = "x"\nsplit = "testing"\n[methods.P]\nkind = "classical"\nmethod = "pos"\n', ["datasets.a.split", "'testing'"]),
        ('[suite]\nseed = [1]\n' + DATASET + '[methods.P]\nkind = "classical"\nmethod = "pos"\n', ["unknown key 'suite.seed'", "did you mean 'seeds'"]),
        ('[suite]\nseeds = []\n' + DATASET + '[methods.P]\nkind = "classical"\nmethod = "pos"\n', ["suite.seeds"]),
        ('[suite]\nset = ["signal.band=[1,2]"]\n' + DATASET + '[methods.P]\nkind = "classical"\nmethod = "pos"\n', ["suite", "signal.band"]),
        ('[suit]\n' + DATASET, ["unknown table 'suit'", "did you mean 'suite'"]),
        (DATASET, ["no methods"]),
        ('[datasets."a b"]\npath = "x"\n[methods.P]\nkind = "classical"\nmethod = "pos"\n', ["datasets.a b", "names may hold"]),
    ],
)
def test_suite_errors_name_the_file_and_the_key(tmp_path, body, expected):
    message = _error(tmp_path, body)
    assert str(tmp_path / "suite.toml") in message
    for part in expected:
        assert part in message, (part, message)


def test_a_missing_suite_or_bad_toml_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'quick'"):
        load_suite("quik")
    with pytest.raises(ConfigError, match="does not exist"):
        load_suite(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_suite(write_suite(tmp_path, "[suite\n"))


def test_shard_argument():
    assert parse_shard(None) == (1, 1)
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/2", "3/2", "1-2", "a/b"):
        with pytest.raises(ConfigError, match="--shard"):
            parse_shard(bad)


def test_dataset_from_an_environment_variable_names_the_variable_when_it_is_missing(tmp_path, monkeypatch):
    path = write_suite(
        tmp_path,
        """
        [datasets.ubfc]
        dataset = "ubfc-rppg"
        env = "PULSECL_TEST_UBFC_ROOT"
        [methods.POS]
        kind = "classical"
        method = "pos"
        """,
    )
    suite = load_suite(path)
    monkeypatch.delenv("PULSECL_TEST_UBFC_ROOT", raising=False)
    with pytest.raises(DataError, match=r"PULSECL_TEST_UBFC_ROOT is not set; set it to the ubfc-rppg root folder"):
        dataset_root(suite, "ubfc", tmp_path / "out")
    monkeypatch.setenv("PULSECL_TEST_UBFC_ROOT", str(tmp_path / "missing"))
    with pytest.raises(DataError, match="PULSECL_TEST_UBFC_ROOT=.*missing is not a folder"):
        dataset_root(suite, "ubfc", tmp_path / "out")
    monkeypatch.setenv("PULSECL_TEST_UBFC_ROOT", str(tmp_path))
    assert dataset_root(suite, "ubfc", tmp_path / "out") == tmp_path


def test_real_dataset_suites_read_their_roots_from_the_environment(monkeypatch, tmp_path):
    for name, var in (("ubfc-rppg", "UBFC_RPPG_ROOT"), ("pure", "PURE_ROOT")):
        suite = load_suite(BENCHMARKS / f"{name}.toml")
        (ds,) = suite.datasets.values()
        assert ds.env == var and ds.dataset == name
        monkeypatch.delenv(var, raising=False)
        with pytest.raises(DataError, match=var):
            dataset_root(suite, ds.name, tmp_path)
