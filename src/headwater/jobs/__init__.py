"""The jobs service (CDSW Jobs API v1 compatible): projects, jobs and their runs, each
run a process of its own (PySpark on ``local[n]`` or any Spark master), cron schedules
and emailed reports. Modules: ``config`` (jobs.yaml), ``spec`` (a job's settings),
``store`` (SQLite), ``runner`` (the engines), ``scheduler`` (cron), ``reports``
(SMTP), ``service`` (them together), ``shapes`` (CDSW's JSON) and ``api`` (FastAPI),
served by ``headwater.http.asgi``.
"""
