"""`python -m hubspec ...`: the same as the `hubspec` command (see hubspec.cli)."""

from hubspec.cli import run

if __name__ == "__main__":
    run()
