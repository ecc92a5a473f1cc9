"""models.yaml: a good file loads; a bad one fails at load with every problem listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.errors import ConfigurationError
from headwater.models.serve.config import Batching, load_config, parse_config

REPOSITORY = Path(__file__).resolve().parents[3]


def test_the_shipped_example_loads() -> None:
    config = load_config(REPOSITORY / "models" / "models.yaml")
    classifier = config.models["imagenet-classifier"]
    assert (classifier.kind, classifier.builtin, classifier.variant) == (
        "builtin",
        "imagenet-classifier",
        "int8",
    )
    assert classifier.replicas == 2 and classifier.batching == Batching(16, 2.0, 256)
    alert = config.models["cputemp-alert"]
    assert alert.file == REPOSITORY / "models" / "cputemp_alert.py"
    assert alert.batching.max_batch_size == 1  # a python model takes one request at a time
    assert config.by_access_key()["change-me-alert-key"] is alert
    assert config.inputs.max_bytes == 10 * 1024 * 1024


def test_every_problem_is_listed_with_its_path(tmp_path: Path) -> None:
    user = tmp_path / "user.py"
    user.write_text("def score(args):\n    return {}\n")
    raw = {
        "inputs": {"max-bytes": "lots", "allowed-root": str(tmp_path / "missing")},
        "models": {
            "a": {"kind": "builtin", "builtin": "nope", "variant": "fp16", "access-keys": ["k"]},
            "b": {"kind": "python", "file": str(user), "access-keys": ["k"], "replicas": 0},
            "c": {"kind": "lua"},
            "d": {"kind": "python"},
            "e": {
                "kind": "builtin",
                "builtin": "imagenet-classifier",
                "batching": {"max-wait-ms": -1},
            },
            "f": {"kind": "builtin", "builtin": "imagenet-classifier", "colour": "blue"},
            "g": {"kind": "builtin", "builtin": "imagenet-classifier", "timeout": "soon"},
            "h": {"kind": "builtin", "builtin": "imagenet-classifier", "replica": 2},
        },
    }
    with pytest.raises(ConfigurationError) as caught:
        parse_config(raw, tmp_path)
    paths = sorted(problem.path for problem in caught.value.problems)
    assert paths == [
        "inputs.allowed-root",
        "inputs.max-bytes",
        "models.a.builtin",
        "models.a.variant",
        "models.b.access-keys",
        "models.b.function",
        "models.b.replicas",
        "models.c.kind",
        "models.d.file",
        "models.e.batching.max-wait-ms",
        "models.f.colour",
        "models.g.timeout",
        "models.h.replica",
    ]
    text = str(caught.value)
    assert "defines no top-level function 'predict'" in text and "it defines score" in text
    assert "also a's" in text
    assert "models.h.replica: unknown setting (did you mean 'replicas'?)" in text
    assert "models.f.colour: unknown setting (expected one of kind, builtin" in text


def test_a_user_file_with_a_syntax_error_is_refused_without_running_it(tmp_path: Path) -> None:
    user = tmp_path / "broken.py"
    user.write_text("raise SystemExit('ran')\ndef predict(args:\n")
    with pytest.raises(ConfigurationError, match=r"models.m.file: .*broken.py:2"):
        parse_config({"models": {"m": {"kind": "python", "file": "broken.py"}}}, tmp_path)


def test_a_missing_file_or_bad_yaml_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")
    (tmp_path / "bad.yaml").write_text("models: [\n")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
