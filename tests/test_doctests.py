"""Every docstring example in the package runs (music21-docs style)."""
import doctest
import importlib
import pkgutil

import pytest

import st4rt_repl


def _modules() -> list[str]:
    # The mapped sub-packages are not inside st4rt_repl/ on disk, so walk each one.
    names = set()
    for pkg in ("st4rt_repl", "st4rt_repl.models", "st4rt_repl.corpus", "st4rt_repl.tokenizers"):
        names.add(pkg)
        mod = importlib.import_module(pkg)
        names.update(m.name for m in pkgutil.walk_packages(mod.__path__, pkg + "."))
    return sorted(names)


MODULES = _modules()


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name, tmp_path, monkeypatch):
    monkeypatch.setenv("ST4RT_HOME", str(tmp_path))
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"


def test_subpackages_live_under_one_import_root():
    # models/, corpus/ and tokenizers/ install as st4rt_repl.*: nothing top-level.
    names = set(MODULES)
    assert {"st4rt_repl.models", "st4rt_repl.corpus", "st4rt_repl.tokenizers"} <= names
    for top in ("models", "corpus"):
        spec = importlib.util.find_spec(top)
        assert spec is None or "st4rt_repl" not in (spec.origin or ""), top
