"""The core layer: errors, names and references, storage, schema and profiles.

It imports nothing from the building blocks above it.
"""
