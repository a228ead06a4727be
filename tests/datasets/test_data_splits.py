"""Subject-wise splits, k-fold and exclusions: no subject on both sides."""

from __future__ import annotations

import pytest

from pulsecl.config import DataConfig
from pulsecl.data import VideoRecord, exclude, kfold, select_split, subject_split
from pulsecl_datasets.pure import PURE
from pulsecl_datasets.ubfc import UBFCrPPG
from pulsecl.errors import ConfigError, DataError


def _records(n_subjects=10, per_subject=3, dataset="pure", synthetic=False):
    return [
        VideoRecord(id=f"{s:02d}-{k:02d}", subject=f"{s:02d}", source=f"/x/{s:02d}-{k:02d}",
                    meta={"dataset": dataset, "synthetic": synthetic})
        for s in range(1, n_subjects + 1)
        for k in range(1, per_subject + 1)
    ]


def _subjects(recs):
    return {r.subject for r in recs}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_subject_split_never_leaks(seed):
    recs = _records()
    train, held = subject_split(recs, 0.3, seed=seed)
    assert not _subjects(train) & _subjects(held)
    assert len(train) + len(held) == len(recs)
    assert len(_subjects(held)) == 3
    assert subject_split(recs, 0.3, seed=seed) == (train, held)  # deterministic


def test_subject_split_edges():
    recs = _records(n_subjects=3)
    train, held = subject_split(recs, 0.01, seed=0)
    assert len(_subjects(held)) == 1  # at least one held out
    train, held = subject_split(recs, 0.99, seed=0)
    assert len(_subjects(train)) == 1  # at least one kept
    assert subject_split(recs, 0.0) == (recs, [])
    with pytest.raises(DataError, match="only 1 subject"):
        subject_split(_records(n_subjects=1), 0.2)
    with pytest.raises(ConfigError, match="val_fraction"):
        subject_split(recs, 1.0)
    assert {frozenset(_subjects(subject_split(_records(), 0.3, seed=s)[1])) for s in range(10)}.__len__() > 1


@pytest.mark.parametrize(("k", "sizes"), [(2, [5, 5]), (3, [4, 3, 3]), (10, [1] * 10)])
def test_kfold_partitions_the_subjects(k, sizes):
    recs = _records()
    tests = []
    for fold in range(k):
        train, test = kfold(recs, k, fold)
        assert not _subjects(train) & _subjects(test)
        assert len(train) + len(test) == len(recs)
        tests.append(_subjects(test))
    assert [len(t) for t in tests] == sizes
    assert set().union(*tests) == _subjects(recs)
    shuffled = [_subjects(kfold(recs, k, f, seed=5)[1]) for f in range(k)]
    assert set().union(*shuffled) == _subjects(recs)


def test_kfold_bad_arguments():
    recs = _records(n_subjects=4)
    with pytest.raises(ConfigError, match="only 4 subjects"):
        kfold(recs, 5, 0)
    with pytest.raises(ConfigError, match="data.fold = 3"):
        kfold(recs, 3, 3)
    with pytest.raises(ConfigError, match="k >= 2"):
        kfold(recs, 1, 0)


def test_literature_exclusions_are_the_default():
    assert DataConfig().exclude == ["literature"]
    assert UBFCrPPG.literature_exclusions == ("subject11", "subject18", "subject20", "subject24")
    assert PURE.literature_exclusions == ("07-02", "07-07")
    pure = _records()
    kept = exclude(pure, ["literature"], PURE.literature_exclusions)
    assert {r.id for r in pure} - {r.id for r in kept} == {"07-02"}  # 07-07 does not exist here
    ubfc = [VideoRecord(id=f"subject{i}", subject=f"subject{i}", source="", meta={"dataset": "ubfc-rppg"}) for i in range(1, 27)]
    dropped = {r.id for r in ubfc} - {r.id for r in exclude(ubfc, ["literature"], UBFCrPPG.literature_exclusions)}
    assert dropped == {"subject11", "subject18", "subject20", "subject24"}
    # Configurable: off, or other names (ids or subjects).
    assert exclude(ubfc, []) == ubfc
    assert {r.subject for r in exclude(pure, ["03"])} == _subjects(pure) - {"03"}
    # Synthetic data in a real dataset's layout keeps every subject.
    synth = [VideoRecord(id=r.id, subject=r.subject, source="", meta={"dataset": "ubfc-rppg", "synthetic": True}) for r in ubfc]
    assert exclude(synth, ["literature"], UBFCrPPG.literature_exclusions) == synth


def test_unknown_exclusion_is_an_error_with_a_hint():
    with pytest.raises(ConfigError, match="'07-2' is no video id or subject.*did you mean '07-02'"):
        exclude(_records(), ["07-2"])


def test_select_split():
    recs = _records()
    cfg = DataConfig(val_fraction=0.2, exclude=[])
    train = select_split(recs, cfg, "train")
    val = select_split(recs, cfg, "val")
    assert not _subjects(train) & _subjects(val) and len(_subjects(val)) == 2
    assert select_split(recs, cfg, "test") == val
    assert select_split(recs, cfg, "all") == recs
    kcfg = DataConfig(folds=5, fold=1, exclude=["literature"])
    test = select_split(recs, kcfg, "test", literature=PURE.literature_exclusions)
    assert _subjects(test) == {"03", "04"}
    assert "07-02" not in {r.id for r in select_split(recs, kcfg, "train", literature=PURE.literature_exclusions)}
    with pytest.raises(ConfigError, match="data.split = 'dev'"):
        select_split(recs, cfg, "dev")
