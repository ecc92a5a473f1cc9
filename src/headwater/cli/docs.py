"""``headwater docs``: the processor and service reference, made from their declarations.

The same ``Property`` and ``Relationship`` declarations that validate a flow write this
reference, so it cannot drift from the code.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from headwater.processor import (
    PROCESSOR_TYPES,
    SERVICE_TYPES,
    Component,
    Processor,
    load_extensions,
)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "docs", help="print the processor reference (Markdown)", description=__doc__
    )
    parser.add_argument("types", nargs="*", metavar="TYPE", help="only these types")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    load_extensions()
    known: dict[str, type[Component]] = {**PROCESSOR_TYPES, **SERVICE_TYPES}
    unknown = [name for name in args.types if name not in known]
    if unknown:
        print(f"unknown type(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    sys.stdout.write(reference(args.types or sorted(known)))
    return 0


HEADER = """# Processor and controller service reference

Made by `headwater docs` from the components' own declarations; property keys are the
names NiFi stores in flow definitions, and the display names are accepted too.

"""


def reference(names: list[str]) -> str:
    """Markdown for the named processors and services."""
    load_extensions()
    known: dict[str, type[Component]] = {**PROCESSOR_TYPES, **SERVICE_TYPES}
    return HEADER + "".join(_section(known[name]) for name in names)


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _section(component: type[Component]) -> str:
    lines = [f"## {component.type_name()}", "", component.describe(), ""]
    if component.tags:
        lines += [f"Tags: {', '.join(component.tags)}", ""]
    if component.properties:
        lines += [
            "| property | display name | default | values | EL | required | description |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for prop in component.properties:
            values = ", ".join(prop.allowed) if prop.allowed else ""
            if prop.service is not None:
                values = f"id of a {prop.service.__name__}"
            lines.append(
                f"| `{_cell(prop.name)}` | {_cell(prop.display_name)} | {_cell(prop.default)} "
                f"| {_cell(values)} | {'yes' if prop.expression else ''} "
                f"| {'yes' if prop.required else ''} | {_cell(prop.description)} |"
            )
        lines.append("")
    if component.dynamic_property is not None:
        lines += [f"Dynamic properties: {component.dynamic_property.description}", ""]
    if issubclass(component, Processor):
        lines += [f"Input: {component.input_requirement.value}", ""]
        for rel in component.relationships:
            lines.append(f"- relationship `{rel.name}`: {rel.description}")
        lines.append("")
    return "\n".join(lines) + "\n"
