"""WebOptions and JobsLink from ``headwater run``'s flags; bad ones refused at start."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from conftest import FLOW
from headwater.cli import build_parser, main
from headwater.cli.run import _web_options
from headwater.errors import ConfigurationError
from headwater.web.options import DEFAULT_PROJECT, JobsLink, WebOptions


def flags(**given: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "lake": None,
        "images": None,
        "jobs_url": None,
        "jobs_key": None,
        "jobs_project": DEFAULT_PROJECT,
    }
    return argparse.Namespace(**(values | given))


def test_the_flags_make_the_options() -> None:
    options = _web_options(
        flags(
            lake=Path("lake"),
            images=Path("ftp/images"),
            jobs_url="http://127.0.0.1:9/",
            jobs_key="k",
            jobs_project="me/proj",
        )
    )
    assert options == WebOptions(
        lake=Path("lake"),
        images=Path("ftp/images"),
        jobs=JobsLink("http://127.0.0.1:9", "k", "me/proj"),
    )
    assert options.jobs is not None and (options.jobs.owner, options.jobs.slug) == ("me", "proj")
    assert _web_options(flags()) == WebOptions()


def test_a_jobs_url_needs_its_key() -> None:
    with pytest.raises(ConfigurationError, match="--jobs-url and --jobs-key go together"):
        _web_options(flags(jobs_url="http://127.0.0.1:9"))


@pytest.mark.parametrize(
    ("url", "key", "project", "problem"),
    [
        ("127.0.0.1:8082", "k", "a/b", "expected http:// or https://"),
        ("http://127.0.0.1:8082", "", "a/b", "jobs api key: is empty"),
        ("http://127.0.0.1:8082", "k", "just-a-slug", "expected OWNER/SLUG"),
    ],
)
def test_a_bad_link_says_what_is_wrong(url: str, key: str, project: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        JobsLink(url, key, project)


def test_run_takes_the_web_flags() -> None:
    web = ["--lake", "l", "--images", "i", "--jobs-url", "http://h:1", "--jobs-key", "k"]
    args = build_parser().parse_args(["run", "f.yaml", *web, "--jobs-project", "me/p"])
    assert (args.lake, args.images) == (Path("l"), Path("i"))
    assert (args.jobs_url, args.jobs_key, args.jobs_project) == ("http://h:1", "k", "me/p")
    defaults = build_parser().parse_args(["run", "f.yaml"])
    assert (defaults.lake, defaults.jobs_url, defaults.jobs_project) == (
        None,
        None,
        DEFAULT_PROJECT,
    )


def test_run_refuses_a_half_given_jobs_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text(FLOW)
    argv = ["run", str(flow), "--data-dir", str(tmp_path / "d"), "--api", "127.0.0.1:0"]
    assert main([*argv, "--jobs-url", "http://127.0.0.1:9"]) == 1
    assert "--jobs-url and --jobs-key go together" in capsys.readouterr().err
