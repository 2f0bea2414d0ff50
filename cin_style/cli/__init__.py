"""The ``cin-style`` command line: :mod:`.main` (the parser, dispatch and exit codes), :mod:`.common`
(what every command shares) and one module per command with its own options (:mod:`.train`,
:mod:`.export`, :mod:`.slim`)."""
