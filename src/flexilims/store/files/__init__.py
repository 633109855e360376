"""The store to and from files: Flexilims JSON dumps read as they are imported
(:mod:`.dumpfile`, :mod:`.transfer`), projects exported in the same form
(:mod:`.export`), and whole-database backups (:mod:`.backup`)."""
