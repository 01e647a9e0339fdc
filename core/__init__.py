"""The bottom layer every other package may import: settings, typed errors, address handling.

Nothing here imports another aidrop package.
"""
