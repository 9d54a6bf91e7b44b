"""Use cases shared by the web and the CLI: load, check access, call the domain, save, audit."""
