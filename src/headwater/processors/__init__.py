"""Built-in processors, one module per family; importing this registers them all."""

from headwater.processors import attributes, generate, routing

__all__ = ["attributes", "generate", "routing"]
