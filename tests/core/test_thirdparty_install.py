"""A real third-party plugin, installed with pip into a fresh virtual environment.

tests/thirdparty/pulsecl-example-plugin is an ordinary package with its own
pyproject.toml and an entry point in group ``pulsecl``.  The test installs it offline
(``--no-deps --no-build-isolation``) into a new venv that sees this environment's
packages, checks ``pulsecl plugins`` lists it and both of its components build, then
uninstalls it and checks it is gone.
"""

import json
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[1] / "thirdparty" / "pulsecl-example-plugin"

pytestmark = [pytest.mark.install, pytest.mark.slow]


def _venv(tmp_path: Path) -> Path:
    env = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env)],
        check=True,
    )
    py = env / "bin" / "python"
    # Make this interpreter's packages (including an editable pulsecl and its .pth files)
    # visible from the new venv, whether or not this interpreter is itself a venv.
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    dirs = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    lines = [f"import site; site.addsitedir({d!r})" for d in sorted(dirs) if Path(d).is_dir()]
    (Path(purelib) / "_parent_env.pth").write_text("\n".join(lines) + "\n")
    return py


def _run(py: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(py), *args], capture_output=True, text=True)


def test_install_list_build_uninstall(tmp_path):
    py = _venv(tmp_path)
    pip = [str(py), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--no-build-isolation", "--no-index", str(PLUGIN)],
        capture_output=True, text=True,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    listed = _run(py, "-m", "pulsecl", "plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    example = rows["example"]
    assert example["distribution"] == "pulsecl-example-plugin"
    assert example["version"] == "1.2.3"
    assert example["builtin"] is False
    assert example["components"] == {"backbones": ["green-mean"], "losses": ["smoothness"]}

    built = _run(
        py,
        "-c",
        "import torch, pulsecl\n"
        "net = pulsecl.build('backbones', 'green-mean', taps=3)\n"
        "y = net(torch.rand(2, 3, 16, 8, 8))\n"
        "loss = pulsecl.build('losses', 'smoothness', scale=2.0)({'signal': y})\n"
        "print(tuple(y.shape), loss.ndim)\n",
    )
    assert built.returncode == 0, built.stderr
    assert built.stdout.strip() == "(2, 16) 0"

    removed = subprocess.run([*pip, "uninstall", "-y", "pulsecl-example-plugin"], capture_output=True, text=True)
    assert removed.returncode == 0, removed.stderr
    listed = _run(py, "-m", "pulsecl", "plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "example" not in {r["name"] for r in json.loads(listed.stdout)}
    gone = _run(py, "-c", "import pulsecl; pulsecl.build('backbones', 'green-mean')")
    assert gone.returncode != 0
    assert "unknown backbones 'green-mean'" in gone.stderr
