"""``python -m kb`` runs the cxkb command line."""

from kb.cli import main

main()
