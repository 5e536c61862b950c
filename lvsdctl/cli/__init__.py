"""The `lvsdctl` command line: a thin Typer layer over the stage packages."""
