"""The UI's files are served without the token, ``/`` leads to them, and every module
the app imports exists (a typo in an import path would blank the page)."""

from __future__ import annotations

import re

from conftest import MakeHub
from headwater.web.static import STATIC

REMOTE = re.compile(r"(src|href)=\"https?://|url\(https?:|from \"https?:")
IMPORT = re.compile(r'^\s*import\s[^;]*?from\s+"(\./|\.\./)([^"]+)";', re.MULTILINE)


def test_root_and_ui_redirect_to_the_app(make_hub: MakeHub) -> None:
    client = make_hub()
    for path in ("/", "/ui"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 307
        assert answer.headers["location"] == "/ui/"


def test_the_app_is_served_without_the_token(make_hub: MakeHub) -> None:
    client = make_hub()
    page = client.get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="js/main.js">' in page.text
    for name in ("app.css", "icon.svg", "js/main.js", "js/pages/flow.js"):
        answer = client.get(f"/ui/{name}")
        assert answer.status_code == 200, name
        assert answer.headers["cache-control"] == "no-cache"
    assert "javascript" in client.get("/ui/js/api.js").headers["content-type"]
    assert client.get("/ui/nothing-here.js").status_code == 404


def test_every_module_imported_exists_and_no_asset_is_remote() -> None:
    scripts = sorted(STATIC.rglob("*.js"))
    assert {p.name for p in scripts} >= {"api.js", "layout.js", "graph.js", "chart.js", "main.js"}
    for script in scripts:
        text = script.read_text()
        for prefix, target in IMPORT.findall(text):
            base = script.parent if prefix == "./" else script.parent.parent
            assert (base / target).is_file(), f"{script.name} imports missing {target}"
    for asset in [*scripts, STATIC / "index.html", STATIC / "app.css"]:
        assert not REMOTE.search(asset.read_text()), asset


def test_the_api_still_needs_the_token(make_hub: MakeHub) -> None:
    client = make_hub()
    assert client.get("/api/v1/status").status_code == 401
    token = {"Authorization": "Bearer ui-test-token"}
    assert client.get("/api/v1/status", headers=token).is_success
