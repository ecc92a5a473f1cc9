"""Built-in processors, one module per family; importing this registers them all."""

from headwater.processors import (
    attributes,
    duplicate,
    files,
    files_fetch,
    files_list,
    files_put,
    generate,
    http_invoke,
    json,
    json_flatten,
    json_jolt,
    json_path,
    logging,
    merge,
    routing,
    text,
)

__all__ = [
    "attributes",
    "duplicate",
    "files",
    "files_fetch",
    "files_list",
    "files_put",
    "generate",
    "http_invoke",
    "json",
    "json_flatten",
    "json_jolt",
    "json_path",
    "logging",
    "merge",
    "routing",
    "text",
]
