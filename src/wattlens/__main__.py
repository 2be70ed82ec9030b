"""`python -m wattlens` runs the CLI."""

from wattlens.cli.main import main

main()
