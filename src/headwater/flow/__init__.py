"""The flow file: YAML in git, loaded into a validated FlowDefinition."""
