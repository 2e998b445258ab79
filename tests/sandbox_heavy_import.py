"""A module that maps 400 MB when imported: a stand-in for the models the fork server preloads."""

BALLAST = bytearray(400 * 1024 * 1024)
