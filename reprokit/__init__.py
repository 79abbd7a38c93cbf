"""Framework-neutral core of the kit (numpy only): parameter tables, checkpoint I/O, diffs."""
from .errors import KitError

__version__ = "0.1.0"
__all__ = ["KitError", "__version__"]
