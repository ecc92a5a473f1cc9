"""A prepared model cache for tests, made once per process.

Tests that classify need the ONNX files. ``prepared_cache`` runs ``headwater models
prepare`` once per test run, in a child process so torch never loads into the tests'
own, into ``$HEADWATER_MODELS`` when that is set (where a second run only verifies) or
else into a temporary folder removed at exit.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from headwater.models.cache import ENV


@functools.cache
def prepared_cache() -> Path:
    """A model cache holding every built-in model, prepared and verified."""
    configured = os.environ.get(ENV)
    if configured:
        root = Path(configured)
    else:
        root = Path(tempfile.mkdtemp(prefix="headwater-models-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-m", "headwater", "models", "prepare", "--cache", os.fspath(root)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"headwater models prepare failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return root
