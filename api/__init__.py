"""The GraphQL API (docs/api.md)."""
