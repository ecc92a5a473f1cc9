"""Built-in controller services: record readers and writers with their schema registry
(``records``), and TLS (``ssl``). Like the processors, each is imported when a flow
names it (``headwater.catalog``)."""
