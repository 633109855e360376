"""Long-lived objects out of the garbage collector's way.

CPython's full collections walk every object it tracks. Once SQLAlchemy and
pandas are loaded that is about 100,000 objects: a pass of tens of
milliseconds that lands every twenty or so calls that make many dicts (such
as ``get_datasets``), and makes p99 several times the median. What exists
once a store is open or pandas is loaded (modules, compiled statements, the
engine) lives as long as the process: :func:`settled` moves it to the
permanent generation (``gc.freeze``), and collections walk only the objects
made since.
"""

import gc

#: The milestones reached in this process (each freezes once).
_reached: set[str] = set()


def settled(milestone: str) -> None:
    """Freeze every object that exists now, once per ``milestone`` (such as
    ``"store"`` or ``"pandas"``) and process: the few objects that were
    garbage already stay in memory, once."""
    if milestone not in _reached:
        _reached.add(milestone)
        gc.freeze()
