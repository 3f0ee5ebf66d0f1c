"""``python -m emogen.batch JOBS --out DIR``, the form ``accelerate launch -m emogen.batch`` runs."""
import sys

from emogen.cli import main

sys.exit(main(["batch", *sys.argv[1:]]))
