"""The function families load in two steps: a device's flow keeps the rarer ones out."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from headwater.expression import compile_expression
dates = "headwater.expression.functions.dates"
first = compile_expression("${hostname():isEmpty():ifElse('none', 'some')}")
print(first.evaluate({}), dates in sys.modules)
print(compile_expression("${now():format('yyyy')}").evaluate({})[:2], dates in sys.modules)
"""


def test_rarer_families_load_when_an_expression_first_names_one() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["some", "False", "20", "True"], out.stdout + out.stderr
