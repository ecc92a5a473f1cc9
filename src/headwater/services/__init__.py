"""Built-in controller services; importing this registers them all."""

from headwater.services import records, ssl

__all__ = ["records", "ssl"]
