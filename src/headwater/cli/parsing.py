"""The argparse classes every sub-command's parser is made of (loaded only when a
command line needs argparse: see :func:`headwater.cli.main`)."""

from __future__ import annotations

import argparse
import os
from typing import Any


class Formatter(argparse.HelpFormatter):
    """argparse's help, told the terminal's width: left to itself it asks ``shutil``,
    which imports bz2, lzma and fnmatch (0.4 MB of a device's memory) on every start."""

    def __init__(self, prog: str) -> None:
        try:
            columns = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size().columns
        except (ValueError, OSError):
            columns = 80
        super().__init__(prog, width=columns - 2)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose sub-command parsers (``type(self)``) share ``Formatter``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)
