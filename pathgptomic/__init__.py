"""Path-GPTomic."""
__version__ = "0.1.0"
