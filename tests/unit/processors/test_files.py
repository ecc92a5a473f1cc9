"""GetFile, ListFile, FetchFile and PutFile against real directories."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from headwater.engine.session import ProcessSession
from headwater.processors.files import GetFile
from headwater.processors.files_fetch import FetchFile
from headwater.processors.files_list import ListFile
from headwater.processors.files_put import PutFile
from headwater.testing import TestRunner


def make(root: Path, relative: str, content: bytes = b"data", mtime: float | None = None) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


# -- GetFile -------------------------------------------------------------------------------


def test_get_file_picks_up_and_deletes(tmp_path: Path) -> None:
    make(tmp_path, "a.txt", b"alpha")
    make(tmp_path, "sub/b.txt", b"beta")
    make(tmp_path, ".hidden")
    with TestRunner(GetFile, {"Input Directory": str(tmp_path)}) as runner:
        runner.run()
        out = {f.attributes["filename"]: f for f in runner.transferred(GetFile.SUCCESS)}
        assert {n: f.content for n, f in out.items()} == {"a.txt": b"alpha", "b.txt": b"beta"}
        assert out["a.txt"].attributes["path"] == "./"
        assert out["b.txt"].attributes["path"] == "sub/"
        assert out["b.txt"].attributes["absolute.path"] == f"{tmp_path / 'sub'}/"
        assert out["a.txt"].attributes["file.size"] == "5"
        assert "file.lastModifiedTime" in out["a.txt"].attributes
        assert runner.provenance_types() == ["RECEIVE", "RECEIVE"]
        assert runner.provenance_events()[0].transit_uri == (tmp_path / "a.txt").as_uri()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [".hidden"]


def test_get_file_leaves_the_source_until_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make(tmp_path, "a.txt")

    def broken_commit(self: ProcessSession) -> None:
        raise OSError("disk full")

    with TestRunner(GetFile, {"Input Directory": str(tmp_path)}) as runner:
        with monkeypatch.context() as patch:
            patch.setattr(ProcessSession, "commit", broken_commit)
            runner.run(raise_errors=False)
        assert source.exists()
        runner.assert_transferred(GetFile.SUCCESS, 0)
        runner.run()
        runner.assert_transferred(GetFile.SUCCESS, 1)
    assert not source.exists()


def test_get_file_filters_batch_and_keep_source(tmp_path: Path) -> None:
    for name in ("a.csv", "b.csv", "c.csv", "d.txt"):
        make(tmp_path, name)
    make(tmp_path, "big.csv", b"x" * 100)
    make(tmp_path, "skip/e.csv")
    props = {
        "Input Directory": str(tmp_path),
        "File Filter": r".*\.csv",
        "Batch Size": "2",
        "Keep Source File": "true",
        "Maximum File Size": "10 B",
        "Path Filter": "keep.*",
    }
    with TestRunner(GetFile, props) as runner:
        runner.run(2)
        names = [f.attributes["filename"] for f in runner.transferred(GetFile.SUCCESS)]
        assert names == ["a.csv", "b.csv", "c.csv"]
    assert (tmp_path / "a.csv").exists()


def test_get_file_configuration_errors(tmp_path: Path) -> None:
    runner = TestRunner(
        GetFile,
        {"Input Directory": str(tmp_path / "missing"), "File Filter": "(", "Batch Size": "0"},
    )
    runner.assert_invalid("Input Directory", "File Filter", "Batch Size")
    runner.close()


# -- ListFile ------------------------------------------------------------------------------


def test_list_file_lists_each_file_once_across_runs_and_restarts(tmp_path: Path) -> None:
    inbox, data = tmp_path / "in", tmp_path / "repo"
    make(inbox, "a.txt", b"12345", mtime=1_700_000_000)
    props = {"Input Directory": str(inbox)}
    with TestRunner(ListFile, props, data_dir=data) as runner:
        runner.run(2)
        (listed,) = runner.transferred(ListFile.SUCCESS)
        assert listed.content == b""
        assert listed.attributes["filename"] == "a.txt"
        assert listed.attributes["file.size"] == "5"
        assert listed.attributes["absolute.path"] == f"{inbox}/"
        assert runner.provenance_types() == ["CREATE"]
    make(inbox, "b.txt", mtime=1_700_000_000)  # same timestamp as the one already listed
    make(inbox, "c.txt", mtime=1_600_000_000)  # older than the state: not new
    with TestRunner(ListFile, props, data_dir=data) as runner:
        runner.run(2)
        names = [f.attributes["filename"] for f in runner.transferred(ListFile.SUCCESS)]
        assert names == ["b.txt"]


def test_list_file_without_tracking_and_without_file_attributes(tmp_path: Path) -> None:
    make(tmp_path, "a.txt")
    props = {
        "Input Directory": str(tmp_path),
        "Listing Strategy": "No Tracking",
        "Include File Attributes": "false",
    }
    with TestRunner(ListFile, props) as runner:
        runner.run(2)
        out = runner.transferred(ListFile.SUCCESS)
        assert len(out) == 2
        assert "file.owner" not in out[0].attributes
        assert "file.lastModifiedTime" in out[0].attributes


def test_list_file_minimum_age(tmp_path: Path) -> None:
    make(tmp_path, "fresh.txt")
    make(tmp_path, "old.txt", mtime=1_600_000_000)
    props = {"Input Directory": str(tmp_path), "Minimum File Age": "1 hour"}
    with TestRunner(ListFile, props) as runner:
        runner.run()
        (out,) = runner.transferred(ListFile.SUCCESS)
        assert out.attributes["filename"] == "old.txt"
        assert len(out.attributes["file.permissions"]) == 9


# -- FetchFile -----------------------------------------------------------------------------


def test_fetch_file_fetches_by_listing_attributes(tmp_path: Path) -> None:
    make(tmp_path, "a.txt", b"alpha")
    with TestRunner(FetchFile) as runner:
        runner.enqueue(b"", filename="a.txt", **{"absolute.path": f"{tmp_path}/"})
        runner.run()
        (out,) = runner.transferred(FetchFile.SUCCESS)
        assert out.content == b"alpha"
        assert runner.provenance_types() == ["FETCH"]
    assert (tmp_path / "a.txt").exists()


def test_fetch_file_not_found_and_permission_denied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = make(tmp_path, "secret.txt")
    real_open = Path.open

    def guarded_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == secret:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded_open)
    with TestRunner(FetchFile, {"File to Fetch": f"{tmp_path}/${{filename}}"}) as runner:
        runner.enqueue(b"", filename="missing.txt")
        runner.enqueue(b"", filename="secret.txt")
        runner.run()
        (missing,) = runner.transferred(FetchFile.NOT_FOUND)
        assert "not found" in missing.attributes["error.message"]
        (denied,) = runner.transferred(FetchFile.PERMISSION_DENIED)
        assert denied.penalized
        assert runner.provenance_types() == ["ROUTE", "ROUTE"]


def test_fetch_file_move_renames_on_conflict_after_commit(tmp_path: Path) -> None:
    make(tmp_path, "in/a.txt", b"new")
    make(tmp_path, "done/a.txt", b"old")
    props = {
        "File to Fetch": f"{tmp_path}/in/a.txt",
        "Completion Strategy": "Move File",
        "Move Destination Directory": f"{tmp_path}/done",
    }
    with TestRunner(FetchFile, props) as runner:
        runner.enqueue(b"")
        runner.run()
        runner.assert_all_transferred(FetchFile.SUCCESS, count=1)
    assert not (tmp_path / "in/a.txt").exists()
    moved = sorted(p.read_bytes() for p in (tmp_path / "done").iterdir())
    assert moved == [b"new", b"old"]


def test_fetch_file_delete_and_fail_conflict(tmp_path: Path) -> None:
    make(tmp_path, "a.txt")
    make(tmp_path, "b.txt")
    make(tmp_path, "done/b.txt")
    with TestRunner(
        FetchFile, {"File to Fetch": f"{tmp_path}/a.txt", "Completion Strategy": "Delete File"}
    ) as runner:
        runner.enqueue(b"")
        runner.run()
    assert not (tmp_path / "a.txt").exists()
    props = {
        "File to Fetch": f"{tmp_path}/b.txt",
        "Completion Strategy": "Move File",
        "Move Destination Directory": f"{tmp_path}/done",
        "Move Conflict Strategy": "Fail",
    }
    with TestRunner(FetchFile, props) as runner:
        runner.enqueue(b"")
        runner.run()
        runner.assert_all_transferred(FetchFile.FAILURE, count=1)
    assert (tmp_path / "b.txt").exists()


def test_fetch_file_move_needs_a_directory() -> None:
    runner = TestRunner(FetchFile, {"Completion Strategy": "Move File"})
    runner.assert_invalid("Move Destination Directory")
    runner.close()


# -- PutFile -------------------------------------------------------------------------------


def test_put_file_writes_and_creates_directories(tmp_path: Path) -> None:
    props = {
        "Directory": f"{tmp_path}/out/${{folder}}",
        "Permissions": "rw-r-----",
        "Last Modified Time": "2020-01-02T03:04:05+0000",
    }
    with TestRunner(PutFile, props) as runner:
        runner.enqueue(b"hello", filename="a.txt", folder="x")
        runner.run()
        runner.assert_all_transferred(PutFile.SUCCESS, count=1)
        assert runner.provenance_types() == ["SEND"]
        assert runner.provenance_events()[0].transit_uri == (tmp_path / "out/x/a.txt").as_uri()
    target = tmp_path / "out/x/a.txt"
    assert target.read_bytes() == b"hello"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_mtime == 1577934245
    assert os.listdir(tmp_path / "out/x") == ["a.txt"]  # no temporary file left


@pytest.mark.parametrize(
    ("strategy", "relationship", "content"),
    [("fail", "failure", b"old"), ("ignore", "success", b"old"), ("replace", "success", b"new")],
)
def test_put_file_conflict_strategies(
    tmp_path: Path, strategy: str, relationship: str, content: bytes
) -> None:
    make(tmp_path, "a.txt", b"old")
    props = {"Directory": str(tmp_path), "Conflict Resolution Strategy": strategy}
    with TestRunner(PutFile, props) as runner:
        runner.enqueue(b"new", filename="a.txt")
        runner.run()
        (out,) = runner.transferred(relationship)
        assert out.penalized == (relationship == "failure")
        events = {"fail": ["ATTRIBUTES_MODIFIED"], "ignore": [], "replace": ["SEND"]}
        assert runner.provenance_types() == events[strategy]
    assert (tmp_path / "a.txt").read_bytes() == content
    assert os.listdir(tmp_path) == ["a.txt"]


def test_put_file_failures_missing_directory_full_directory_and_bad_name(tmp_path: Path) -> None:
    make(tmp_path, "full/one")
    with TestRunner(
        PutFile,
        {
            "Directory": f"{tmp_path}/${{dir}}",
            "Create Missing Directories": "false",
            "Maximum File Count": "1",
        },
    ) as runner:
        runner.enqueue(b"x", filename="a", dir="nowhere")
        runner.enqueue(b"x", filename="a", dir="full")
        runner.enqueue(b"x", filename="../escape", dir="full")
        runner.run()
        reasons = [f.attributes["error.message"] for f in runner.transferred(PutFile.FAILURE)]
        assert ["does not exist" in reasons[0], "holds 1" in reasons[1]] == [True, True]
        assert "plain file name" in reasons[2]
    assert not (tmp_path / "escape").exists()


def test_put_file_configuration_errors() -> None:
    runner = TestRunner(
        PutFile,
        {
            "Conflict Resolution Strategy": "overwrite",
            "Permissions": "rwxrwxrwxx",
            "Create Missing Directories": "y",
        },
    )
    runner.assert_invalid(
        "Directory", "Conflict Resolution Strategy", "Permissions", "Create Missing Directories"
    )
    runner.close()


def test_list_fetch_put_round_trip_keeps_time_and_permissions(tmp_path: Path) -> None:
    source = make(tmp_path, "in/a.txt", b"payload", mtime=1_600_000_000)
    source.chmod(0o604)
    with TestRunner(ListFile, {"Input Directory": str(tmp_path / "in")}) as lister:
        lister.run()
        (listed,) = lister.transferred(ListFile.SUCCESS)
    with TestRunner(FetchFile) as fetcher:
        fetcher.enqueue(b"", listed.attributes)
        fetcher.run()
        (fetched,) = fetcher.transferred(FetchFile.SUCCESS)
    props = {
        "Directory": f"{tmp_path}/out",
        "Last Modified Time": "${file.lastModifiedTime}",
        "Permissions": "${file.permissions}",
    }
    with TestRunner(PutFile, props) as putter:
        putter.enqueue(fetched.content, fetched.attributes)
        putter.run()
        putter.assert_all_transferred(PutFile.SUCCESS, count=1)
    written = (tmp_path / "out/a.txt").stat()
    assert (written.st_mtime, stat.S_IMODE(written.st_mode)) == (1_600_000_000, 0o604)
