"""Does the diagnosis find what the fake's mind was told to be? Three fakes, one table each.

On the fake server, whose image model is the literal painter (it draws the words of the
latest message), the core suite (or the first K units of each subtype, or one family)
is run with `--probe knows,sees` against three minds (`uniprobe.testing.mind.FakeMind`):

* `rule`: it states what the checks expect before drawing (it knows every rule) and
  describes its images truthfully: global-instruction failures should be *knows but
  can't draw* (target: >= 95% of them);
* `literal`: it states the literal reading: the same failures should be *doesn't know*,
  tagged `literal_belief`;
* `rule, sees 20%`: it knows, but describes its images wrongly at a rate of 20% per
  question: *can't see* (1 - P(sees)) should come back within 3 points of 20%;
* `always-yes`, `always-no`: floors, a mind that gives one answer whatever is asked,
  read from the answer schema (yes or no; count 1 or 0; colour red or none; text as
  given in the question or ""; parts "nothing" or every offered part). P(knows) and
  P(sees) are diagnoses, not scores, but these show how far a constant answerer gets.

Scored with the reference policy on synthetic scenes (as the fake-server tests are).
Printed per mind: the probe ledger (calls, checked turns, calls per turn, cost, share
of the run's cost), P(knows), P(draws | knows), P(sees), the gap, and the outcomes of
the global-instruction checks that failed to draw.

    python benchmarks/unification.py [--sample K] [--family F] [--mind NAME] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

import uniprobe
from uniprobe.cases.generate.common import case_yaml
from uniprobe.cases.schema import Case
from uniprobe.config import Config, ProviderConfig
from uniprobe.probes.diagnosis import CheckDiagnosis, Rate
from uniprobe.store.rundir import RunDir
from uniprobe.testing import FakeServer
from uniprobe.testing._mind import Mind, Said
from uniprobe.testing.mind import Belief, FakeMind

MODEL = "openai/gpt-5.5"
KEY = "sk-fake-unification-benchmark"
GLOBAL = "global_instruction"
MINDS: dict[str, tuple[Belief, float]] = {
    "rule": ("rule", 0.0),
    "literal": ("literal", 0.0),
    "rule-sees-20": ("rule", 0.2),
}
CONSTANT = ("always-yes", "always-no")


class ConstantMind:
    """Answers every probe question with one constant per answer kind, read from the
    request's answer schema (never from the question)."""

    def __init__(self, yes: bool) -> None:
        self.yes = yes

    def _one(self, prop: Mapping[str, Any]) -> object:
        kinds = prop.get("anyOf", [prop])
        main = kinds[0]
        if main.get("type") == "integer":
            return 1 if self.yes else 0
        if main.get("type") == "array":
            options = list(main["items"]["enum"])
            rest = [o for o in options if o != "nothing"]
            return rest if self.yes and rest else ["nothing"]
        enum = main.get("enum")
        if enum is None:  # text
            return "" if not self.yes else "yes"
        if "yes" in enum:
            return "yes" if self.yes else "no"
        return "red" if self.yes else "none"  # colour

    def answer(
        self, model: str, conversation: Sequence[Said], schema: Mapping[str, Any] | None
    ) -> str:
        """One JSON object answering every question of the schema with the constant."""
        props = (schema or {}).get("properties", {})
        return json.dumps({qid: self._one(prop) for qid, prop in props.items()})


def sample_cases(families: Sequence[str] | None, units: int | None) -> list[Case]:
    """The core suite's cases of `families` (all if None), the first `units` units of
    each subtype (a contrast group whole, or an ungrouped case; all if None)."""
    taken: dict[str, list[str]] = {}
    cases = []
    for case in uniprobe.load_suite("core").cases:
        if families and case.family not in families:
            continue
        unit = case.group or case.id
        seen = taken.setdefault(case.subtype, [])
        if unit not in seen:
            if units is not None and len(seen) >= units:
                continue
            seen.append(unit)
        cases.append(case)
    return cases


def pct(rate: Rate) -> str:
    """'45.8% [44.0, 47.7] (k/n)'."""
    if rate.value is None:
        return f"- (0/{rate.n})"
    low, high = rate.ci or (rate.value, rate.value)
    return f"{100 * rate.value:.1f}% [{100 * low:.1f}, {100 * high:.1f}] ({rate.k}/{rate.n})"


def failures(rows: Sequence[CheckDiagnosis]) -> str:
    """The outcomes of the global-instruction checks that failed to draw."""
    failed = [r for r in rows if r.family == GLOBAL and r.draws == "fail"]
    if not failed:
        return "global-instruction failures: none"
    out = Counter(r.outcome for r in failed)
    diagnosed = len(failed) - out["unknown"]
    literal = sum("literal_belief" in r.tags for r in failed)
    parts = ", ".join(
        f"{name} {out[name]} ({100 * out[name] / max(1, diagnosed):.1f}% of diagnosed)"
        for name in ("cant_draw", "doesnt_know", "cant_see", "unified")
        if out[name]
    )
    return (
        f"global-instruction failures: {len(failed)} checks, {out['unknown']} unknown; "
        f"{parts}; literal_belief {literal} ({100 * literal / max(1, diagnosed):.1f}%)"
    )


def unknown_reasons(rows: Sequence[CheckDiagnosis]) -> str:
    """The most frequent reasons a global failure's outcome is unknown."""
    reasons = Counter(
        r.reason.split(":")[0]
        for r in rows
        if r.family == GLOBAL and r.draws == "fail" and r.outcome == "unknown"
    )
    return "; ".join(f"{n}x {why}" for why, n in reasons.most_common(4))


def run_mind(name: str, cases: list[Case], out: Path, concurrency: int) -> None:
    """Run the cases against one mind and print its figures."""
    suite_path = out / name / "suite"  # a file per family: a case file is at most 512 KiB
    suite_path.mkdir(parents=True, exist_ok=True)
    for family in sorted({c.family for c in cases}):
        text = case_yaml([c for c in cases if c.family == family])
        (suite_path / f"{family}.yaml").write_text(text, encoding="utf-8")
    suite = uniprobe.load_suite(suite_path)
    mind: Mind
    if name in CONSTANT:
        mind = ConstantMind(yes=name == "always-yes")
    else:
        belief, error_rate = MINDS[name]
        mind = FakeMind(suite.cases, belief=belief, sees_error_rate=error_rate, seed=0)
    start = time.perf_counter()
    with FakeServer(mind=mind, image_size=256) as fake:
        provider = ProviderConfig(api_key=SecretStr(KEY), base_url=fake.url + "/v1")
        (result,) = uniprobe.run(
            suite,
            [MODEL],
            out=out / name / "runs",
            config=Config(providers={"openai": provider}),
            policy="reference",
            images="synthetic",
            probes=("knows", "sees"),
            concurrency=concurrency,
        )
    wall = time.perf_counter() - start
    d = uniprobe.diagnose(result.path)
    led = d.ledger
    totals = RunDir.open(result.path).manifest().totals
    s = d.overall
    print(f"== mind {name}: {len(suite)} cases, {result.errors} errors, {wall:.0f} s")
    print(
        f"probes: {led.calls} calls at {led.checked_turns} checked turns "
        f"({led.per_turn or 0:.2f} per turn), ${led.cost_usd:.4f} of ${totals.cost_usd:.4f} "
        "in all (the fake's prices)"
    )
    print(f"P(knows) {pct(s.knows)}")
    print(f"P(draws | knows) {pct(s.draws_given_knows)}")
    print(f"P(sees) {pct(s.sees)}")
    print(f"contrast groups: knows {pct(s.knows_groups)}, sees {pct(s.sees_groups)}")
    if s.gap is not None:
        low, high = s.gap_ci or (s.gap, s.gap)
        gap = f"{100 * s.gap:+.1f} points [{100 * low:+.1f}, {100 * high:+.1f}]"
        print(f"gap P(knows) - P(draws) {gap}")
    shares = ", ".join(f"{k} {pct(v)}" for k, v in s.outcomes.items())
    print(f"outcomes: {shares}")
    print(f"tags: {dict(s.tags)}")
    print(failures(d.rows))
    if why := unknown_reasons(d.rows):
        print(f"unknown because: {why}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, metavar="K", help="first K units per subtype")
    parser.add_argument("--family", action="append", help="only this family (repeatable)")
    parser.add_argument(
        "--mind", action="append", choices=[*MINDS, *CONSTANT], help="only this mind"
    )
    parser.add_argument("--out", help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--concurrency", type=int, default=8, help="conversations at once")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="uniprobe-unify-"))
    cases = sample_cases(args.family, args.sample)
    for name in args.mind or [*MINDS, *CONSTANT]:
        run_mind(name, cases, out, args.concurrency)
    if not args.out:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
