"""Every JSON file the commands write is strict JSON (issue 30, case 3): no NaN or
Infinity, which strict parsers (JavaScript's JSON.parse, jq, Go, serde) reject; a value
that cannot be computed is null, with the reason where it matters."""

from __future__ import annotations

import json
import textwrap

from engine_settings import TINY
from pulsecl.cli import main


def strict_loads(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_every_json_the_commands_write_parses_strictly(tiny_dataset, tmp_path, capsys):
    run, cache = tmp_path / "run", tmp_path / "cache"
    sets = [a for s in [*TINY, "train.epochs=1", "train.steps_per_epoch=1", f"data.cache='{cache}'"]
            for a in ("--set", s)]
    assert main(["train", "--data", str(tiny_dataset), "--out", str(run), "--no-progress", *sets]) == 0
    # 2 videos: a Pearson r of two pairs is undefined (it was written as NaN)
    assert main(["evaluate", str(run / "last.pt"), "--data", str(tiny_dataset), "--out", str(tmp_path / "eval"),
                 "--no-progress"]) == 0
    video = tiny_dataset / "subject1" / "vid.avi"
    assert main(["predict", str(video), "--out", str(tmp_path / "predict"), "--json", str(tmp_path / "p.json"),
                 "--no-plot", "--no-progress", "--window", "4"]) == 0
    suite = tmp_path / "suite.toml"
    suite.write_text(textwrap.dedent(f"""
        [suite]
        name = "tiny"
        set = ["preprocess.size=16", "signal.window_s=4"]

        [datasets.given]
        path = "{tiny_dataset}"

        [methods.POS]
        kind = "classical"
        method = "pos"
        """))
    assert main(["bench", str(suite), "--out", str(tmp_path / "bench"), "--no-progress"]) == 0
    capsys.readouterr()
    for argv in (["plugins", "--json"], ["models", "--json"]):  # JSON printed, not written
        assert main(argv) == 0
        strict_loads(capsys.readouterr().out)

    written = sorted(tmp_path.rglob("*.json"))
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {"run/run.json", "eval/summary.json", "predict/summary.json", "p.json", "bench/suite.json",
            "bench/report/summary.json"} <= names
    assert sum(n.startswith("cache/") and n.endswith("/meta.json") for n in names) == 2
    assert sum(n.startswith("bench/cells/") for n in names) == 1
    for path in written:
        try:
            strict_loads(path.read_text())
        except ValueError as exc:
            raise AssertionError(f"{path}: {exc}") from None
    metrics = strict_loads((tmp_path / "eval" / "summary.json").read_text())["metrics"]
    assert metrics["labelled"] == 2 and metrics["pearson"] is None
    assert metrics["undefined"]["pearson"] == "pearson needs at least 3 heart-rate pair(s), got 2"
