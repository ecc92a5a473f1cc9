"""Record services declared in a flow: checked when the flow loads, every problem listed."""

import json

import pytest

from headwater.flow.loader import FlowDefinitionError, load_flow_dict

SCHEMA = json.dumps(
    {"type": "record", "name": "sensor", "fields": [{"name": "host", "type": "string"}]}
)


def flow(services: dict[str, object]) -> dict[str, object]:
    return {
        "flow": "records",
        "services": services,
        "processors": {"g": {"type": "GenerateFlowFile", "auto-terminate": ["success"]}},
    }


def test_a_flow_declares_a_registry_and_a_reader_that_uses_it() -> None:
    loaded = load_flow_dict(
        flow(
            {
                "registry": {"type": "AvroSchemaRegistry", "properties": {"sensor": SCHEMA}},
                "reader": {
                    "type": "JsonTreeReader",
                    "properties": {
                        "Schema Access Strategy": "schema-name",
                        "schema-registry": "registry",
                    },
                },
            }
        )
    )
    assert loaded.services["reader"].properties["schema-name"] == "${schema.name}"


def test_bad_schemas_and_strategies_are_all_listed_at_load() -> None:
    with pytest.raises(FlowDefinitionError) as caught:
        load_flow_dict(
            flow(
                {
                    "registry": {"type": "AvroSchemaRegistry", "properties": {"broken": "{"}},
                    "reader": {
                        "type": "JsonTreeReader",
                        "properties": {"schema-access-strategy": "schema-nam"},
                    },
                    "writer": {
                        "type": "JsonRecordSetWriter",
                        "properties": {"schema-access-strategy": "schema-name"},
                    },
                }
            )
        )
    message = str(caught.value)
    assert "services.registry.properties.broken: schema is not JSON" in message
    assert "did you mean 'schema-name'?" in message
    assert "services.writer.properties.schema-registry: is required" in message
