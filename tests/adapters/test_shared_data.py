import pytest

from bayestwin.testing import SHARED_DATA_ENV, require_shared_file, shared_data_dir


def test_env_variable_wins(monkeypatch, tmp_path):
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path))
    assert shared_data_dir() == tmp_path


def test_env_variable_missing_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path / "absent"))
    assert shared_data_dir() is None


def test_missing_file_skips(monkeypatch, tmp_path):
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match="absent.csv not found"):
        require_shared_file("absent.csv")


def test_present_file_found(monkeypatch, tmp_path):
    (tmp_path / "table.csv").write_text("a\n1\n")
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path))
    assert require_shared_file("table.csv") == tmp_path / "table.csv"
