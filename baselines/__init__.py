"""NeuroBench's primate-reaching baselines, one module per model family."""
