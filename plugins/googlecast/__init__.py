"""STUB — being implemented by the discovery work."""
