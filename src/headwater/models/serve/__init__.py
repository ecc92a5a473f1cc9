"""``headwater models serve``: the models service, CDSW Models compatible.

::

    config.py    models.yaml, checked whole at load (every problem with its path)
    inputs.py    the image of a request: url (http, ftp, s3, file under a root) or base64
    workers.py   replicas: worker processes holding a model (why processes, not ports)
    batching.py  ModelRunner: queue, dynamic batches, back pressure, restarts
    metrics.py   Prometheus counters and histograms
    app.py       the HTTP routes (call-model, /model, /v1/models, /health, /ready, /metrics)
    server.py    ModelServer: listen, start the replicas, stop cleanly

Nothing here imports the flow engine; numpy and onnxruntime load only in replicas.
"""

from __future__ import annotations

from headwater.models.serve.config import ModelSpec, ServeConfig, load_config
from headwater.models.serve.server import ModelServer

__all__ = ["ModelServer", "ModelSpec", "ServeConfig", "load_config"]
