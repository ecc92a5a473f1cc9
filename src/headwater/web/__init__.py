"""The hub's web UI: static files under ``/ui/`` (a single-page app, no build step)
and the routes it needs beyond the flow's API (``/api/v1/jobs...``, a proxy to the
jobs service). ``create_app(..., web=WebOptions(...))`` wires them."""

from headwater.web.options import JobsLink, WebOptions

__all__ = ["JobsLink", "WebOptions"]
