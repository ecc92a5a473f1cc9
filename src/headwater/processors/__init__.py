"""Built-in processors, one module per family; importing this registers them all."""

from headwater.processors import attributes, duplicate, generate, logging, routing, text

__all__ = ["attributes", "duplicate", "generate", "logging", "routing", "text"]
