"""benchmarks/power.py: planned half-widths of a suite's headline units, one epoch."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]

SUITE = "".join(
    f"""\
- id: s.{name}
  family: post_generation
  subtype: false_premise
  {"group: " + group if group else ""}
  turns:
    - user: "Draw a dog."
      expect: [{{present: {{object: dog}}}}]
"""
    for name, group in [("a", "g1"), ("b", "g1"), ("c", "g2"), ("d", "g2"), ("e", None)]
)


def _power() -> ModuleType:
    spec = importlib.util.spec_from_file_location("power", ROOT / "benchmarks" / "power.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["power"] = module
    spec.loader.exec_module(module)
    return module


def test_half_widths_count_groups_and_ungrouped_cases_as_units(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SUITE, encoding="utf-8")
    lines = _power().for_suite(str(path))
    assert lines[0] == f"suite {path}: 5 cases; one epoch; 95% Wilson intervals"
    # 2 groups + 1 ungrouped case = 3 units: Wilson at 50% of 3 is +-37.5, 0 of 3 <= 56.2
    assert lines[2].split() == ["post_generation", "2", "1", "mixed", "37.5", "56.2"]
    assert lines[3].split() == ["false_premise", "2", "1", "mixed", "37.5", "56.2"]
    assert lines[-1].split()[0] == "overall"
