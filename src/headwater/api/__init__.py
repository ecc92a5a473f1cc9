"""The hub's HTTP API (DESIGN.md §6): status, provenance, lineage, content, queues.

``create_app(controller, token=...)`` builds the FastAPI application over a running
``FlowController``; ``ApiServer`` serves it with uvicorn on a background thread.
"""

from headwater.api.app import create_app
from headwater.api.server import ApiServer

__all__ = ["ApiServer", "create_app"]
