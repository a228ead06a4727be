"""Dataset plugins on tiny datasets written in each layout."""

from __future__ import annotations

import numpy as np
import pytest

import pulsecl
from pulsecl.data import guess_dataset, open_dataset
from pulsecl.errors import ConfigError, DataError
from pulsecl.video import open_source, preprocess
from pulsecl.config import PreprocessConfig
from pulsecl.video.writer import write_video


def _timestamps(source):
    return np.concatenate([t for _, t in open_source(source)])


def test_all_four_are_registered():
    assert {"ubfc-rppg", "pure", "labelled-folder", "unlabelled-folder"} <= set(pulsecl.components("datasets"))


def test_ubfc_dataset2(tmp_path, write_ubfc2):
    for name in ("subject10", "subject2", "subject1"):
        write_ubfc2(tmp_path, name, n=20, fps=20.0)
    (tmp_path / ".pulsecl-cache").mkdir()  # the default cache folder is not a subject
    assert guess_dataset(tmp_path) == "ubfc-rppg"
    recs = open_dataset(tmp_path).records()
    assert [r.id for r in recs] == ["subject1", "subject2", "subject10"]  # natural order
    rec = recs[0]
    assert rec.subject == "subject1" and rec.source.endswith("subject1/vid.avi")
    assert rec.meta["layout"] == "DATASET_2" and rec.meta["synthetic"] is False
    ts = _timestamps(rec.source)
    ref = rec.reference(ts)
    assert ref.shape == (20,) and np.allclose(ref, np.sin(2 * np.pi * 1.2 * ts), atol=1e-5)


def test_ubfc_dataset1(tmp_path, write_ubfc1):
    write_ubfc1(tmp_path, "5-gt", n=20, fps=20.0)
    write_ubfc1(tmp_path, "6-gt", n=20, fps=20.0)
    ds = pulsecl.build("datasets", "ubfc-rppg", root=str(tmp_path))
    recs = ds.records()
    assert [r.id for r in recs] == ["5-gt", "6-gt"] and recs[0].meta["layout"] == "DATASET_1"
    ts = _timestamps(recs[0].source)
    # 60 Hz PPG resampled onto the 20 fps frames (linear interpolation: small error).
    assert np.allclose(recs[0].reference(ts), np.sin(2 * np.pi * 1.5 * ts), atol=0.01)
    with pytest.raises(ConfigError, match="layout = 'DATASET_3'"):
        pulsecl.build("datasets", "ubfc-rppg", root=str(tmp_path), layout="DATASET_3")
    with pytest.raises(DataError, match=r"5-gt/vid.avi' has no ground truth \(ground_truth.txt\)"):
        pulsecl.build("datasets", "ubfc-rppg", root=str(tmp_path), layout="DATASET_2").records()


def test_pure_both_arrangements(tmp_path, write_pure):
    t1 = write_pure(tmp_path / "a", "01-01", nested=True)
    write_pure(tmp_path / "a", "01-02", nested=True)
    write_pure(tmp_path / "a", "02-01", nested=True)
    write_pure(tmp_path / "b", "07-02", nested=False)
    assert guess_dataset(tmp_path / "a") == "pure" and guess_dataset(tmp_path / "b") == "pure"
    recs = open_dataset(tmp_path / "a").records()
    assert [(r.id, r.subject) for r in recs] == [("01-01", "01"), ("01-02", "01"), ("02-01", "02")]
    ts = _timestamps(recs[0].source)
    assert np.allclose(ts, t1, atol=1e-6)  # frame times from the file names
    ref = recs[0].reference(ts)
    assert np.allclose(ref, np.sin(2 * np.pi * 1.1 * t1), atol=0.01)
    flat = open_dataset(tmp_path / "b").records()
    assert flat[0].id == "07-02" and flat[0].labelled
    (tmp_path / "b" / "07-02.json").unlink()
    with pytest.raises(DataError, match="07-02.*no ground truth.*07-02.json"):
        open_dataset(tmp_path / "b", "pure").records()


def test_pure_malformed_json_names_the_file(tmp_path, write_pure):
    write_pure(tmp_path, "03-01")
    (tmp_path / "03-01" / "03-01.json").write_text('{"/FullPackage": [{"Timestamp": 1}]}')
    rec = open_dataset(tmp_path, "pure").records()[0]
    with pytest.raises(DataError, match="03-01.json.*Value"):
        rec.reference(np.arange(5) / 30)


def test_labelled_folder(tmp_path, tiny_frames):
    fps = 10.0
    for stem in ("alice_01", "alice_02", "bob_01"):
        write_video(tmp_path / f"{stem}.avi", tiny_frames(20), fps=fps)
    t = np.arange(0, 2.5, 0.01)
    (tmp_path / "alice_01.csv").write_text("time,ppg\n" + "\n".join(f"{a},{np.cos(a)}" for a in t))
    (tmp_path / "alice_02.csv").write_text("\n".join(f"{a} {np.cos(a)}" for a in t))  # no header
    (tmp_path / "bob_01.csv").write_text("bvp\n" + "\n".join(str(k) for k in range(20)))  # one per frame
    assert guess_dataset(tmp_path) == "labelled-folder"
    recs = open_dataset(tmp_path).records()
    assert [(r.id, r.subject) for r in recs] == [("alice_01", "alice"), ("alice_02", "alice"), ("bob_01", "bob")]
    ts = np.arange(20) / fps
    assert np.allclose(recs[0].reference(ts), np.cos(ts), atol=1e-4)
    assert np.allclose(recs[1].reference(ts), np.cos(ts), atol=1e-4)
    assert np.array_equal(recs[2].reference(ts), np.arange(20.0))
    # A rate instead of times.
    (tmp_path / "bob_01.csv").write_text("pulse\n" + "\n".join(str(k) for k in range(40)))
    rec = pulsecl.build("datasets", "labelled-folder", root=str(tmp_path), reference_fs=20.0).records()[2]
    assert np.allclose(rec.reference(ts), 2 * np.arange(20.0))
    # Subjects from sub-folders, and a custom pattern.
    sub = tmp_path / "nested" / "carol"
    sub.mkdir(parents=True)
    write_video(sub / "take.avi", tiny_frames(5), fps=fps)
    (sub / "take.csv").write_text("ppg\n" + "\n".join("0" for _ in range(5)))
    recs = open_dataset(tmp_path / "nested", "labelled-folder").records()
    assert [(r.id, r.subject) for r in recs] == [("carol/take", "carol")]
    recs = pulsecl.build("datasets", "labelled-folder", root=str(tmp_path), subject_pattern=r"_(\d+)$").records()
    assert [(r.id, r.subject) for r in recs] == [
        ("alice_01", "01"), ("alice_02", "02"), ("bob_01", "01"), ("nested/carol/take", "nested"),
    ]


def test_labelled_folder_errors_name_the_file(tmp_path, tiny_frames):
    write_video(tmp_path / "a_1.avi", tiny_frames(10), fps=10.0)
    with pytest.raises(DataError, match=r"a_1.avi' has no reference pulse 'a_1.csv'"):
        pulsecl.build("datasets", "labelled-folder", root=str(tmp_path)).records()
    (tmp_path / "a_1.csv").write_text("time,heart\n0,1\n1,2\n")
    rec = open_dataset(tmp_path, "labelled-folder").records()[0]
    with pytest.raises(DataError, match="a_1.csv.*no pulse column"):
        rec.reference(np.arange(10) / 10)
    (tmp_path / "a_1.csv").write_text("ppg\n" + "\n".join("1" for _ in range(7)))
    with pytest.raises(DataError, match="a_1.csv' has 7 samples but the video has 10 frames"):
        rec.reference(np.arange(10) / 10)
    (tmp_path / "a_1.csv").write_text("time,ppg\n0,1\n0.1,oops\n")
    with pytest.raises(DataError, match="a_1.csv.*not numeric"):
        rec.reference(np.arange(10) / 10)
    with pytest.raises(ConfigError, match="subject_pattern"):
        pulsecl.build("datasets", "labelled-folder", root=str(tmp_path), subject_pattern="no-group")


def test_unlabelled_folder(tmp_path, tiny_frames):
    write_video(tmp_path / "x_1.avi", tiny_frames(5), fps=10.0)
    (tmp_path / "notes.txt").write_text("not a video")
    assert guess_dataset(tmp_path) == "unlabelled-folder"
    recs = open_dataset(tmp_path).records()
    assert len(recs) == 1 and recs[0].reference(np.arange(5) / 10) is None and not recs[0].labelled


def test_folders_without_videos(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("hello")
    with pytest.raises(DataError, match="empty' has no videos"):
        guess_dataset(tmp_path / "empty")
    with pytest.raises(DataError, match="folder '.*empty' has no videos"):
        pulsecl.build("datasets", "unlabelled-folder", root=str(tmp_path / "empty")).records()
    with pytest.raises(DataError, match="has no UBFC-rPPG subjects"):
        pulsecl.build("datasets", "ubfc-rppg", root=str(tmp_path / "empty")).records()
    with pytest.raises(DataError, match="no PURE sessions"):
        pulsecl.build("datasets", "pure", root=str(tmp_path / "empty")).records()
    with pytest.raises(DataError, match="does not exist"):
        pulsecl.build("datasets", "pure", root=str(tmp_path / "missing"))


def test_ground_truth_of_the_wrong_length(tmp_path, write_ubfc2):
    t = np.arange(20) / 20.0
    write_ubfc2(tmp_path, "subject1", n=20, rows=[np.zeros(20), np.zeros(19), t])
    rec = open_dataset(tmp_path).records()[0]
    with pytest.raises(DataError, match=r"subject1/ground_truth.txt': rows have 20, 19 and 20 values"):
        rec.reference(t)
    # Rows agree but cover only half of a longer video.
    write_ubfc2(tmp_path, "subject2", n=80, fps=20.0, rows=[np.zeros(20), np.zeros(20), t])
    rec = open_dataset(tmp_path).records()[1]
    ts = _timestamps(rec.source)
    with pytest.raises(DataError, match=r"subject2/ground_truth.txt' covers 0.00-0.95 s but the video runs 0.00-3.95 s"):
        rec.reference(ts)
    write_ubfc2(tmp_path, "subject3", n=20, rows=[np.zeros(20), np.zeros(20)])
    with pytest.raises(DataError, match=r"subject3/ground_truth.txt' has 2 row\(s\)"):
        open_dataset(tmp_path).records()[2].reference(t)
    (tmp_path / "subject3" / "ground_truth.txt").write_text("1 2 x\n")
    with pytest.raises(DataError, match="subject3/ground_truth.txt', line 1: not a row of numbers"):
        open_dataset(tmp_path).records()[2].reference(t)
    (tmp_path / "subject3" / "ground_truth.txt").unlink()
    with pytest.raises(DataError, match="subject3/vid.avi' has no ground truth"):
        open_dataset(tmp_path, "ubfc-rppg").records()


def test_records_go_through_the_pipeline(tmp_path, write_ubfc2):
    write_ubfc2(tmp_path, "subject1", n=20, fps=20.0)
    rec = open_dataset(tmp_path).records()[0]
    clip = preprocess(rec.source, PreprocessConfig(roi="full", size=8), cache_dir=tmp_path / ".pulsecl-cache")
    ref = rec.reference(clip.timestamps)
    assert ref.shape == (clip.n_frames,) == (20,)
    # The cache folder inside the root is ignored by the loader.
    assert [r.id for r in open_dataset(tmp_path).records()] == ["subject1"]


def _bias_eval(root, tiny_frames, gt_text="\ufeffSubject ,Heart_Rate(BPM) \nvideo1,85.413\nvideo6,75.958\n"):
    (root / "Data" / "India").mkdir(parents=True)
    (root / "Ground_Truth").mkdir()
    for name in ("video6_leftcheek", "video1_forehead", "video1_rightcheek"):
        write_video(root / "Data" / "India" / f"{name}.avi", tiny_frames(6), fps=15.0)
    (root / "Ground_Truth" / "India_GT.csv").write_text(gt_text, encoding="utf-8")


def test_bias_eval_patches_share_their_subject_and_carry_the_mean_hr(tmp_path, tiny_frames):
    _bias_eval(tmp_path, tiny_frames)
    assert guess_dataset(tmp_path) == "bias-eval"
    recs = open_dataset(tmp_path).records()
    assert [r.id for r in recs] == ["India/video1_forehead", "India/video1_rightcheek", "India/video6_leftcheek"]
    assert [r.subject for r in recs] == ["India/video1", "India/video1", "India/video6"]
    assert [r.meta["hr"] for r in recs] == [85.413, 85.413, 75.958]
    assert [r.meta["region"] for r in recs] == ["forehead", "rightcheek", "leftcheek"]
    assert not any(r.labelled for r in recs)  # a mean rate, no waveform: never a training label


def test_bias_eval_video_without_a_ground_truth_row_names_both(tmp_path, tiny_frames):
    _bias_eval(tmp_path, tiny_frames, gt_text="Subject,HR\nvideo1,80\n")
    with pytest.raises(DataError, match=r"'video6_leftcheek.avi' has no row 'video6' in '.*India_GT.csv'"):
        open_dataset(tmp_path).records()


def test_bias_eval_puts_the_recording_listed_twice_under_one_subject(tmp_path, tiny_frames):
    _bias_eval(tmp_path, tiny_frames, gt_text="Subject,HR\nvideo1,85\nvideo6,76\nvideo17,71.5\nvideo22,72.9\n")
    for name in ("video17_leftcheek", "video22_leftcheek"):
        write_video(tmp_path / "Data" / "India" / f"{name}.avi", tiny_frames(6), fps=15.0)
    recs = {r.id: r for r in open_dataset(tmp_path).records()}
    assert recs["India/video17_leftcheek"].subject == recs["India/video22_leftcheek"].subject == "India/video17"
    assert (recs["India/video17_leftcheek"].meta["hr"], recs["India/video22_leftcheek"].meta["hr"]) == (71.5, 72.9)
