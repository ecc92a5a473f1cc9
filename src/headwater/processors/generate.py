"""GenerateFlowFile: FlowFiles from nothing, for tests, load and timed triggers."""

from __future__ import annotations

import os
import random
import string

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.processor import DynamicProperty, InputRequirement, Processor, Property, Relationship
from headwater.units import parse_bool, parse_data_size, parse_positive_int

_TEXT = (string.ascii_letters + string.digits).encode()


class GenerateFlowFile(Processor):
    """Creates FlowFiles with random or custom content; dynamic properties become attributes.

    Without Unique FlowFiles the content of a batch is written once and shared by every
    FlowFile of the batch, as content is immutable.
    """

    tags = ("test", "random", "generate", "load")
    input_requirement = InputRequirement.FORBIDDEN
    default_schedule = "1 min"
    dynamic_property = DynamicProperty("An attribute to add to each FlowFile", expression=True)

    SUCCESS = Relationship("success", "Every generated FlowFile.")

    file_size = Property(
        "File Size",
        "Size of each FlowFile (ignored with Custom Text)",
        default="0B",
        parse=parse_data_size,
    )
    batch_size = Property(
        "Batch Size", "FlowFiles made per trigger", default="1", parse=parse_positive_int
    )
    data_format = Property(
        "Data Format", "Random binary or random text", default="Text", allowed=("Binary", "Text")
    )
    unique = Property(
        "Unique FlowFiles",
        "New random content for each FlowFile",
        default="false",
        parse=parse_bool,
    )
    custom_text = Property(
        "generate-ff-custom-text",
        "Content to use instead of random data",
        display_name="Custom Text",
        expression=True,
    )
    charset = Property(
        "character-set", "Encoding of Custom Text", display_name="Character Set", default="UTF-8"
    )
    mime_type = Property(
        "mime-type", "Value of the mime.type attribute", display_name="Mime Type", expression=True
    )

    def _content(self, context: ProcessContext) -> bytes:
        text = context.get(self.custom_text)
        if text is not None:
            return text.encode(context[self.charset])
        size = context[self.file_size]
        if context[self.data_format] == "Binary":
            return os.urandom(size)
        return bytes(random.choices(_TEXT, k=size))

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        unique = context[self.unique]
        mime = context.get(self.mime_type)
        dynamic = context.dynamic
        shared = None
        for _ in range(context[self.batch_size]):
            ff = session.create()
            attributes = {name: v.evaluate(context.variables) for name, v in dynamic.items()}
            if mime:
                attributes["mime.type"] = mime
            if attributes:
                ff = session.put_all_attributes(ff, attributes)
            if unique or shared is None:
                content = self._content(context)
                if content:
                    ff = session.write(ff, content)
                shared = ff
            elif shared.size:
                ff = session.share_content(ff, shared)
            session.transfer(ff, self.SUCCESS)
