"""nichiiki: Japanese government PDF reports to validated open data with provenance."""

__version__ = "0.1.0"
