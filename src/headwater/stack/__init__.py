"""The whole system on one machine: ``headwater up`` (hub, models service, jobs service,
an FTP image store and an alert sink in one process, security on) and ``headwater
demo`` (that, plus simulated devices, a progress line and a summary).

Modules: ``layout`` (data folders and ports), ``secrets`` (made once, 0600),
``configs`` (the parts' generated configurations), ``ftp`` and ``webhook`` (the
embedded store and sink), ``up`` (``Stack``), ``devices`` (agent processes),
``progress`` and ``resources`` (what the demo produced and cost), ``demo``.
"""
