"""Security: the certificates hub and agents present to each other (``certificates``)."""
