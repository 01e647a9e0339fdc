"""Jobs: arq functions, job records, the worker (docs/api.md)."""
