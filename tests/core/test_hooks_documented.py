"""Meta-tests: every hook is documented with its exact signature, and every hook has a
test that calls it."""

import re
from pathlib import Path

import pytest

from pulsecl.hookspec import hook_signatures

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("hook", sorted(hook_signatures()))
def test_hook_documented_with_exact_signature(hook):
    doc = (ROOT / "CONTRIBUTING.md").read_text()
    assert f"#### {hook}\n" in doc, f"CONTRIBUTING.md has no heading for {hook}"
    assert hook_signatures()[hook] in doc, f"CONTRIBUTING.md does not quote {hook_signatures()[hook]}"


def test_contributing_documents_no_hook_that_does_not_exist():
    doc = (ROOT / "CONTRIBUTING.md").read_text()
    assert set(re.findall(r"^#### (pulsecl_\w+)$", doc, re.M)) == set(hook_signatures())


@pytest.mark.parametrize("hook", sorted(hook_signatures()))
def test_every_hook_has_a_test(hook):
    """Some test file other than this one mentions the hook by name."""
    here = Path(__file__).resolve()
    found = [
        p for p in (ROOT / "tests").rglob("test_*.py")
        if p.resolve() != here and hook in p.read_text(encoding="utf-8")
    ]
    assert found, f"no test mentions {hook}"
