"""DuplicateFlowFile: many copies of each FlowFile, for load tests."""

from __future__ import annotations

import logging

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.units import parse_non_negative_int

log = logging.getLogger(__name__)


class DuplicateFlowFile(Processor):
    """Sends each FlowFile and ``Number of Copies`` clones of it to success.

    The original gets ``copy.index`` 0 and the clones 1, 2, ...; clones share the
    content, so a copy costs an attribute map, not the bytes. When the number of copies
    evaluates to something that is not a whole number, the FlowFile goes on alone with
    the reason in ``error.message`` (NiFi has no failure relationship here).
    """

    tags = ("test", "load", "duplicate")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "The original FlowFile and all copies.")

    copies = Property(
        "Number of Copies",
        "How many copies of each incoming FlowFile to make",
        default="100",
        required=True,
        expression=True,
        parse=parse_non_negative_int,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        for ff in session.get_batch():
            try:
                count = context.evaluate(self.copies, ff)
            except ProcessException as exc:
                log.error("%s: %s; passing %s on without copies", context.id, exc, ff.uuid)
                ff = session.put_all_attributes(ff, {"copy.index": "0", "error.message": str(exc)})
                session.transfer(ff, self.SUCCESS)
                continue
            for index in range(1, count + 1):
                copy = session.put_attribute(session.clone(ff), "copy.index", str(index))
                session.transfer(copy, self.SUCCESS)
            session.transfer(session.put_attribute(ff, "copy.index", "0"), self.SUCCESS)
