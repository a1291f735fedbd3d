"""Typed run configuration: schema, preset loading, `--set` overrides."""
