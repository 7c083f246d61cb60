"""`python -m uniprobe.cases.generate [--check] [--out DIR]`: write or check the core suite."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from uniprobe.cases.generate import SUITE_DIR, write


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and write (or check) the suite; the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m uniprobe.cases.generate", description="Write the core suite's YAML."
    )
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument(
        "--out", type=Path, default=SUITE_DIR, help="suite folder (default: the package's)"
    )
    args = parser.parse_args(argv)
    return write(check=args.check, out=args.out)


if __name__ == "__main__":
    sys.exit(main())
