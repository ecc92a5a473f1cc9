"""Built-in controller services; importing this registers them all."""

from headwater.services import records

__all__ = ["records"]
