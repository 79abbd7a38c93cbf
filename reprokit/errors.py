class KitError(Exception):
    """A user-facing error: one clear line naming the file, key, row or value at fault."""
