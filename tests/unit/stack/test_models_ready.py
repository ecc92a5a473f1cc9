"""`headwater up` prepares models only when the cache lacks them."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.models.cache import ModelNotPrepared, find_model
from headwater.models.testing import prepared_cache
from headwater.stack.up import MODELS, prepare_models


def test_a_prepared_cache_is_used_as_it_is() -> None:
    said: list[str] = []
    prepare_models(prepared_cache(), said.append)
    assert said == []
    for name, variant in MODELS.items():
        find_model(name, variant, prepared_cache())


def test_a_failed_preparation_stops_the_start_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("a file where the cache's parent goes")
    cache = tmp_path / "not-a-folder" / "cache"
    said: list[str] = []
    with pytest.raises(ModelNotPrepared, match="models prepare"):
        prepare_models(cache, said.append)
    assert said[0].startswith("models: preparing imagenet-classifier, coco-detector in")
    assert len(said) > 1  # the preparation's own lines, passed on
