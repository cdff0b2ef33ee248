"""Phased, gated rollout of the marketplace's Seller Rating System."""

__version__ = "0.1.0"
