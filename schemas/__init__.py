"""Request and response schemas, derived from the ZenML 0.66.0 wire contract."""
