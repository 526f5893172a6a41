"""Data layer: reading, validating, binning and splitting recordings; synthetic sessions."""
