"""headwater: an edge-to-AI dataflow system — a NiFi-style flow engine in Python.

The names most programs need; everything else lives in its own module.
"""

from headwater.errors import ConfigurationError, HeadwaterError, ProcessException
from headwater.flowfile import FlowFile
from headwater.processor import (
    ControllerService,
    DynamicProperty,
    InputRequirement,
    Processor,
    Property,
    Relationship,
)

__all__ = [
    "ConfigurationError",
    "ControllerService",
    "DynamicProperty",
    "FlowFile",
    "HeadwaterError",
    "InputRequirement",
    "ProcessException",
    "Processor",
    "Property",
    "Relationship",
]
__version__ = "0.1.0"
