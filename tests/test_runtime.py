"""mupbook.runtime: switches have safe defaults and bad values get clear errors."""

import subprocess
import sys

import pytest
import torch

from mupbook import runtime


def test_scale_defaults_to_quick(monkeypatch):
    monkeypatch.delenv("MUPBOOK_SCALE", raising=False)
    assert runtime.scale() == "quick"
    assert runtime.pick("q", "f") == "q"


def test_scale_full_is_case_insensitive(monkeypatch):
    monkeypatch.setenv("MUPBOOK_SCALE", " FULL ")
    assert runtime.scale() == "full"
    assert runtime.pick("q", "f") == "f"


def test_bad_scale_names_the_choices(monkeypatch):
    monkeypatch.setenv("MUPBOOK_SCALE", "huge")
    with pytest.raises(ValueError, match="quick, full"):
        runtime.scale()


def test_device_auto_is_cuda_exactly_when_available(monkeypatch):
    monkeypatch.delenv("MUPBOOK_DEVICE", raising=False)
    assert runtime.device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert runtime.device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("bad", ["tpu", "gpu0", "mps"])
def test_unknown_device_is_an_error(bad):
    with pytest.raises(ValueError, match="device"):
        runtime.device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_missing_cuda_is_an_error_not_a_fallback(monkeypatch):
    monkeypatch.setenv("MUPBOOK_DEVICE", "cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        runtime.device()


def test_seed_everything_makes_runs_repeat():
    runtime.seed_everything(7)
    a = torch.randn(5)
    gen = runtime.seed_everything(7)
    assert torch.equal(a, torch.randn(5))
    assert torch.equal(
        torch.randn(3, generator=gen), torch.randn(3, generator=runtime.generator(7))
    )


@pytest.mark.parametrize("bad", [-1, 2**63, 1.5, "3", True])
def test_bad_seed_is_an_error(bad):
    with pytest.raises(ValueError, match="seed"):
        runtime.seed_everything(bad)


def test_bad_seed_variable_is_an_error(monkeypatch):
    monkeypatch.setenv("MUPBOOK_SEED", "abc")
    with pytest.raises(ValueError, match="MUPBOOK_SEED"):
        runtime.default_seed()


def test_data_dir_uses_mupbook_data(monkeypatch, tmp_path):
    monkeypatch.setenv("MUPBOOK_DATA", str(tmp_path))
    assert runtime.data_dir() == tmp_path
    assert runtime.data_dir("omniglot") == tmp_path / "omniglot"


def test_data_dir_falls_back_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("MUPBOOK_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert runtime.data_dir("text") == tmp_path / "mupbook" / "text"


def test_missing_data_folder_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("MUPBOOK_DATA", str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="not an existing folder.*unset it"):
        runtime.data_dir()


@pytest.mark.parametrize("bad", ["", "/etc", "../x"])
def test_data_subdir_must_stay_inside(monkeypatch, tmp_path, bad):
    monkeypatch.setenv("MUPBOOK_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="relative folder"):
        runtime.data_dir(bad)


def test_colab_detection_follows_the_google_colab_module(monkeypatch):
    assert not runtime.in_colab()
    monkeypatch.setitem(sys.modules, "google.colab", object())
    assert runtime.in_colab()


def test_describe_mentions_scale_and_device():
    text = runtime.describe()
    assert "scale=" in text and "device=" in text


def test_importing_mupbook_needs_no_plotting_or_widgets():
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.modules['ipywidgets'] = None; "
        "import mupbook, mupbook.runtime, mupbook.abc, mupbook.nn, mupbook.fit"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_results_dir_finds_the_checkout_or_the_environment_variable(
    monkeypatch, tmp_path
):
    monkeypatch.delenv("MUPBOOK_RESULTS", raising=False)
    found = runtime.results_dir()
    assert (
        found is not None
        and found.name == "results"
        and (found.parent / "pyproject.toml").is_file()
    )
    monkeypatch.setenv("MUPBOOK_RESULTS", str(tmp_path))
    assert runtime.results_dir() == tmp_path
    monkeypatch.setenv("MUPBOOK_RESULTS", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="not an existing folder"):
        runtime.results_dir()


def _refuse_mkdir(monkeypatch):
    from pathlib import Path

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)


def test_an_unwritable_cache_folder_says_which_folder_and_how_to_choose_another(
    monkeypatch, tmp_path
):
    monkeypatch.delenv("MUPBOOK_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "ro"))
    _refuse_mkdir(monkeypatch)
    with pytest.raises(
        PermissionError,
        match=r"cannot write to the cache folder .*ro/mupbook/text \(Permission "
        r"denied\).*XDG_CACHE_HOME.*MUPBOOK_DATA",
    ):
        runtime.cache_dir("text")


def test_a_cache_folder_that_is_a_file_says_the_same(monkeypatch, tmp_path):
    monkeypatch.delenv("MUPBOOK_DATA", raising=False)
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    with pytest.raises(
        PermissionError, match="cannot write to the cache folder.*XDG_CACHE_HOME"
    ):
        runtime.cache_dir("omniglot")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "fine"))
    assert runtime.cache_dir("omniglot") == tmp_path / "fine" / "mupbook" / "omniglot"
    assert (tmp_path / "fine" / "mupbook" / "omniglot").is_dir()


def test_loaders_that_download_into_an_unwritable_cache_say_so(monkeypatch, tmp_path):
    from mupbook.data import omniglot, text

    monkeypatch.delenv("MUPBOOK_DATA", raising=False)
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    with pytest.raises(
        PermissionError,
        match="cannot write to the cache folder.*omniglot.*XDG_CACHE_HOME",
    ):
        omniglot.load_omniglot(progress=False)
    with pytest.raises(
        PermissionError,
        match="cannot write to the cache folder.*text.*XDG_CACHE_HOME",
    ):
        text.analogy_path(progress=False)
