"""The flow engine: sessions, connections (queues, back pressure, swap) and scheduling."""
