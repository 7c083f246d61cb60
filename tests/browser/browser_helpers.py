"""Runs shared by the browser tests (not a conftest: see tests/annotate/annotate_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import uniprobe
from conftest import off_loop

HOSTILE = '</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'

SUITE = f"""\
- id: hostile.numeric
  family: global_instruction
  subtype: numeric_transform
  turns:
    - user: 'From now on, add 1 to every number I give. {HOSTILE}'
    - user: "Generate an image of 2 dogs."
      expect:
        - count: {{object: dog, equals: 3, literal: 2}}
        - present: {{object: dog}}
"""


def hostile_run(where: Path) -> Path:
    """A one-case run whose first prompt carries HTML and script (reference/literal)."""
    suite = where / "hostile.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    [result] = off_loop(
        uniprobe.run, uniprobe.load_suite(suite), ["reference/literal"], out=where / "runs"
    )
    return Path(result.path)
