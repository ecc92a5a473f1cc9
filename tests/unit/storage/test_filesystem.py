"""The filesystem layer on file://: write-then-rename, conflicts, errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from headwater.errors import ProcessException
from headwater.storage import FAIL, IGNORE, REPLACE, StorageError, open_storage


def test_put_writes_through_a_temporary_name(tmp_path: Path) -> None:
    storage, path = open_storage((tmp_path / "a" / "b.bin").as_uri())
    result = storage.put(path, io.BytesIO(b"\x00\xff" * 1000))
    assert result.written
    assert result.url == (tmp_path / "a" / "b.bin").as_uri()
    assert (tmp_path / "a" / "b.bin").read_bytes() == b"\x00\xff" * 1000
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.bin"]


def test_bare_path_means_file(tmp_path: Path) -> None:
    storage, path = open_storage(str(tmp_path / "c.txt"))
    storage.put(path, io.BytesIO(b"hi"))
    assert storage.scheme == "file"
    assert storage.fetch(path) == b"hi"


@pytest.mark.parametrize(
    ("conflict", "written", "expected"),
    [(REPLACE, True, b"new"), (IGNORE, False, b"old")],
)
def test_conflicts(tmp_path: Path, conflict: str, written: bool, expected: bytes) -> None:
    (tmp_path / "f").write_bytes(b"old")
    storage, path = open_storage((tmp_path / "f").as_uri())
    assert storage.put(path, io.BytesIO(b"new"), conflict).written is written
    assert (tmp_path / "f").read_bytes() == expected


def test_fail_conflict_names_the_url(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"old")
    storage, path = open_storage((tmp_path / "f").as_uri())
    with pytest.raises(StorageError, match=r"file://.*/f already exists"):
        storage.put(path, io.BytesIO(b"new"), FAIL)
    assert (tmp_path / "f").read_bytes() == b"old"


def test_missing_directory_without_create(tmp_path: Path) -> None:
    storage, path = open_storage((tmp_path / "no" / "f").as_uri())
    with pytest.raises(StorageError, match="does not exist"):
        storage.put(path, io.BytesIO(b"x"), create_dirs=False)


def test_os_errors_become_storage_errors(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    storage, path = open_storage((tmp_path / "file" / "child").as_uri())
    with pytest.raises(StorageError) as info:
        storage.put(path, io.BytesIO(b"x"))
    assert isinstance(info.value, ProcessException)
    assert "file" in str(info.value)


def test_fetch_of_missing_file(tmp_path: Path) -> None:
    storage, path = open_storage((tmp_path / "nothing").as_uri())
    with pytest.raises(StorageError, match="does not exist"):
        storage.fetch(path)


def test_unknown_scheme_and_conflict() -> None:
    with pytest.raises(StorageError, match="unsupported storage scheme 'gopher'"):
        open_storage("gopher://host/x")
    storage, path = open_storage("/tmp/x")
    with pytest.raises(ValueError, match="conflict must be one of"):
        storage.put(path, io.BytesIO(b""), "merge")
