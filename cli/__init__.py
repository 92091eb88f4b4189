"""The alc-data command line (Typer). Installed as the ``alc_data_cli`` package.

One module per command group; each command parses options and calls one library function.
"""
