"""aidrop: wallet intelligence for EVM chains."""

__version__ = "0.1.0"
