"""The `komawari` command line: the Typer app and its shared helpers."""
