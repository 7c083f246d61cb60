"""Report test helpers: hand-made run folders (written with the store API) and the JSON of
the report's data files."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from uniprobe.cases.checks import check_to_dict
from uniprobe.cases.loader import load_suite
from uniprobe.cases.schema import Case, Suite
from uniprobe.probes.questions import (
    knows_prompt,
    probe_questions,
    question_records,
    sees_prompt,
)
from uniprobe.store.records import (
    Manifest,
    ModelInfo,
    ProbeAnswer,
    ProbeKind,
    ProbeRecord,
    ReplyRecord,
    SampleRecord,
    ScoreRecord,
    SuiteInfo,
    TurnRecord,
    Verdict,
)
from uniprobe.store.rundir import RunDir

NOW = "2025-01-01T00:00:00+00:00"
_ASSIGNMENT = re.compile(
    r"^(?:window\.UNIPROBE_INDEX|\(window\.UNIPROBE_CHUNKS = window\.UNIPROBE_CHUNKS \|\| \{\}\)"
    r"\[\d+\]) = (.*);\n$",
    re.S,
)


def load_js(path: Path) -> Any:
    """The JSON a data file of the report assigns to its global."""
    match = _ASSIGNMENT.match(path.read_text(encoding="utf-8"))
    assert match is not None, f"{path} is not one assignment"
    return json.loads(match.group(1))


def numbered_suite(folder: Path, n: int, *, name: str = "syn") -> Suite:
    """A suite of `n` one-turn cases `syn.case.NN` (global_instruction/numeric_transform);
    case i counts i % 21 birds, as counts are at most 20 (uniprobe.cases.limits)."""
    lines = []
    for i in range(n):
        lines += [
            f"- id: {name}.case.{i:02d}",
            "  family: global_instruction",
            "  subtype: numeric_transform",
            "  turns:",
            f'    - user: "Draw {i} birds."',
            "      expect:",
            f"        - count: {{object: bird, equals: {i % 21}}}",  # counts stay <= 20
        ]
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_suite(path)


def png(colour: tuple[int, int, int] = (200, 220, 255), square: bool = False) -> bytes:
    """A small PNG; with `square`, a red square in its middle."""
    im = Image.new("RGB", (64, 48), colour)
    if square:
        ImageDraw.Draw(im).rectangle((24, 16, 40, 32), fill=(255, 0, 0))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def write_run(
    root: Path,
    name: str,
    suite: Suite,
    passed: Collection[str],
    *,
    protocol: str = "p",
    model: str = "test/model",
    reply_text: str = "Done.",
    epochs: int = 1,
    latencies: Sequence[float] = (1.0,),
) -> Path:
    """A scored run of `suite`: one image per turn; a case passes iff its id is in
    `passed` (one count verdict with a box per case)."""
    path = root / name
    run = RunDir.create(
        path,
        Manifest(
            run_id=name,
            uniprobe_version="0.1.0",
            suite=SuiteInfo(name=suite.name, hash=suite.content_hash, cases=len(suite.cases)),
            model=ModelInfo(name=model, protocol=protocol),
            epochs=epochs,
            policy="reference",
            created=NOW,
            status="finished",
        ),
    )
    run.keep_suite(suite)
    image = run.put_image(png())
    n = 0
    for case in suite.cases:
        for epoch in range(epochs):
            turns = []
            for t, turn in enumerate(case.turns, start=1):
                reply = ReplyRecord(
                    images=[image], text=reply_text, latency_s=latencies[n % len(latencies)]
                )
                turns.append(TurnRecord(index=t, user=turn.user, reply=reply))
                n += 1
            run.append_sample(
                SampleRecord(
                    case_id=case.id,
                    epoch=epoch,
                    seed=epoch,
                    model=model,
                    protocol=protocol,
                    turns=turns,
                    status="complete",
                    started=NOW,
                    finished=NOW,
                )
            )
            ok = case.id in passed
            verdict = Verdict(
                path="turns.0.expect.0",
                turn=1,
                kind="count",
                check={"count": {"object": "bird", "equals": 1}},
                status="pass" if ok else "fail",
                reason="made by hand",
                tags=[] if ok else ["literal"],
                judge="reference@1",
                evidence={"detections": [{"concept": "bird", "box": [4, 4, 20, 20]}]},
            )
            run.append_score(
                ScoreRecord(
                    case_id=case.id,
                    epoch=epoch,
                    policy="reference",
                    judges={"reference": "1"},
                    outcome="pass" if ok else "fail",
                    verdicts=[verdict],
                    scored=NOW,
                )
            )
    return path


def count_probe(case: Case, kind: ProbeKind, answer: int | None, *, raw: str = "") -> ProbeRecord:
    """The answered probe of turn 1 of a one-check case, its questions worded as the
    runner words them (`uniprobe.probes.questions`); the answer goes to every question."""
    questions = probe_questions(case, 1, kind)
    prompt = (
        knows_prompt(case.turns[0].user, questions) if kind == "knows" else sees_prompt(questions)
    )
    answers: dict[str, ProbeAnswer] = {q.qid: answer for q in questions}
    return ProbeRecord(
        kind=kind,
        status="answered",
        questions=question_records(questions),
        prompt=prompt,
        answers=answers,
        reply=ReplyRecord(text=raw or json.dumps(answers), latency_s=0.1, cost_usd=0.001),
    )


def write_probed_run(
    root: Path,
    name: str,
    suite: Suite,
    plan: Sequence[tuple[int | None, bool, int | None]],
    *,
    model: str = "test/probed",
    raw: str = "",
) -> Path:
    """A scored one-epoch run of `numbered_suite` cases with probes: case i's plan is
    (what the model says before drawing, whether the judge passes the image, what it says
    after); None leaves that probe out. Cases beyond the plan have no probes."""
    path = root / name
    run = RunDir.create(
        path,
        Manifest(
            run_id=name,
            uniprobe_version="0.1.0",
            suite=SuiteInfo(name=suite.name, hash=suite.content_hash, cases=len(suite.cases)),
            model=ModelInfo(name=model, protocol="p"),
            epochs=1,
            policy="reference",
            created=NOW,
            status="finished",
        ),
    )
    run.keep_suite(suite)
    image = run.put_image(png())
    where = "turns.0.expect.0"
    for i, case in enumerate(suite.cases):
        before, ok, after = plan[i] if i < len(plan) else (None, True, None)
        probes = [count_probe(case, "knows", before, raw=raw)] if before is not None else []
        probes += [count_probe(case, "sees", after, raw=raw)] if after is not None else []
        turn = TurnRecord(
            index=1,
            user=case.turns[0].user,
            reply=ReplyRecord(images=[image], text="Done.", latency_s=1.0),
            probes=probes,
        )
        run.append_sample(
            SampleRecord(
                case_id=case.id,
                epoch=0,
                seed=0,
                model=model,
                protocol="p",
                turns=[turn],
                status="complete",
                started=NOW,
                finished=NOW,
            )
        )
        verdict = Verdict(
            path=where,
            turn=1,
            kind="count",
            check=check_to_dict(case.turns[0].expect[0]),
            status="pass" if ok else "fail",
            reason=f"counted {i if ok else i + 1} bird(s)",
            judge="reference@1",
        )
        run.append_score(
            ScoreRecord(
                case_id=case.id,
                epoch=0,
                policy="reference",
                judges={"reference": "1"},
                outcome="pass" if ok else "fail",
                verdicts=[verdict],
                scored=NOW,
            )
        )
    return path
