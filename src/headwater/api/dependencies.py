"""What every route needs: the controller behind the app, the bearer-token check, and
for C2 and site-to-site the agent registry and who an agent is."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from headwater.api.agents_identity import AgentAuthenticator
from headwater.api.agents_registry import AgentRegistry
from headwater.engine.controller import FlowController


def controller_of(request: Request) -> FlowController:
    """The FlowController ``create_app`` put on the application's state."""
    controller: FlowController = request.app.state.controller
    return controller


Controller = Annotated[FlowController, Depends(controller_of)]
"""A route parameter that receives the app's FlowController."""

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerToken",
    description="The token the hub was started with (`headwater run --token`).",
)


class BearerToken:
    """A dependency that lets a request through only with ``Authorization: Bearer <token>``.

    The comparison is constant-time (``hmac.compare_digest``) so the token cannot be
    guessed a byte at a time from response timings.
    """

    def __init__(self, token: str) -> None:
        self._expected = token.encode()

    def __call__(
        self, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> None:
        if credentials is None:
            raise _unauthorized(
                "this API needs a bearer token: send 'Authorization: Bearer <token>' with the"
                " token the hub was started with"
            )
        if not hmac.compare_digest(credentials.credentials.encode(), self._expected):
            raise _unauthorized(
                "the bearer token is not the one the hub was started with; check the token"
                " and send it as 'Authorization: Bearer <token>'"
            )


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def registry_of(request: Request) -> AgentRegistry:
    """The AgentRegistry ``create_app`` put on the application's state."""
    registry: AgentRegistry = request.app.state.agent_registry
    return registry


Registry = Annotated[AgentRegistry, Depends(registry_of)]
"""A route parameter that receives the hub's AgentRegistry."""


def authenticator_of(request: Request) -> AgentAuthenticator:
    authenticator: AgentAuthenticator = request.app.state.agent_authenticator
    return authenticator


Authenticator = Annotated[AgentAuthenticator, Depends(authenticator_of)]
"""A route parameter that receives the hub's AgentAuthenticator."""


def site_to_site_sender(request: Request) -> None:
    """Site-to-site takes a known agent (token or certificate) or the hub's token."""
    authenticator_of(request).identify(request, None, agent_only=False)
