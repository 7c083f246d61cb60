"""`python -m uniprobe.cases.generate [--check] [--out DIR] [--seed N]`: write or check the
core suite (seed 0, the published one) or its fresh twin from another seed."""

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
    parser.add_argument(
        "--seed", type=int, default=0, help="suite seed (default 0: the published core)"
    )
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error("--seed must be 0 or more")
    if args.seed != 0 and not args.check and args.out.resolve() == SUITE_DIR:
        parser.error("--seed N writes a fresh suite: give --out DIR (here lives seed 0, core)")
    return write(check=args.check, out=args.out, seed=args.seed)


if __name__ == "__main__":
    sys.exit(main())
