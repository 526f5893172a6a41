"""bench: a leaderboard-style benchmarking suite for neural decoders of motor cortex.

Flow: recording file -> windows -> model entry -> NeuroBench evaluation -> result JSON -> tables.
"""

__version__ = "0.1.0"
