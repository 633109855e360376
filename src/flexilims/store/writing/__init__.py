"""The store's one write path: every change of entities (save, update, batch,
restore, delete to the trash, import) is staged, checked against the rules of
:mod:`flexilims.writes` and written here (:mod:`.changes`), with the row-level
look-ups and bulk writes it needs (:mod:`.rows`, :mod:`.bulk`)."""
