"""Deployment figures: measured latency, energy estimates, storage footprint, checkpoints, export."""
