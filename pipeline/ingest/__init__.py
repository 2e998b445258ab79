"""Which documents to read and their bytes: the registry, fetching, discovery, settings."""
