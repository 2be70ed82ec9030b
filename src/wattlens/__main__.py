"""`python -m wattlens` runs the CLI."""

from wattlens.cli import main

main()
