"""Guards against hostile or careless input: regular files only, outputs that never destroy inputs,
exclusive locks on run folders and indexes, and terminal-safe printing of user-supplied strings."""
