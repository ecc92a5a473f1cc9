"""Routing a FlowFile a processor cannot handle: the one way every processor does it.

The reason goes into an attribute (``error.message`` unless the family has its own,
such as ``record.error.message``) and into the processor's log, whose warnings show as
bulletins in the status API; the FlowFile is penalized when retrying it at once would
only fail again (a server that is away), so a failure loop waits before the next try.
"""

from __future__ import annotations

from collections.abc import Mapping

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import FlowFile
from headwater.processor import Relationship

ERROR_MESSAGE = "error.message"


def route_to_failure(
    context: ProcessContext,
    session: ProcessSession,
    flowfile: FlowFile,
    relationship: Relationship | str,
    reason: BaseException | str,
    *,
    attribute: str = ERROR_MESSAGE,
    penalize: bool = False,
    extra: Mapping[str, str] | None = None,
) -> None:
    """Transfer ``flowfile`` to ``relationship`` with the reason, logged as a warning."""
    text = (str(reason) or type(reason).__name__) if isinstance(reason, BaseException) else reason
    name = relationship if isinstance(relationship, str) else relationship.name
    context.logger.warning("routing %s to %s: %s", flowfile.uuid, name, text)
    flowfile = session.put_all_attributes(flowfile, {**(extra or {}), attribute: text})
    session.transfer(session.penalize(flowfile) if penalize else flowfile, relationship)
