"""Ingestion: files and chains into transfer batches for the wallet graph."""
