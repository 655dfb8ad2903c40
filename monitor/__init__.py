"""monitor: multilingual news monitoring for chip export controls."""

__version__ = "0.1.0"
