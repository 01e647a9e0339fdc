"""Targeting and campaign measurement (docs/marketing.md): segments, campaigns, statistics, reports."""
