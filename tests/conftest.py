"""Fixtures shared by the test modules."""
import pytest


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh ST4RT_HOME (``tmp/home``) and working folder (``tmp``) for one test; returns tmp."""
    monkeypatch.setenv("ST4RT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path
