"""Reading case files: YAML with line numbers, every problem collected, one clear message.

A case file is a YAML list of cases. A suite is one such file, a folder of them, the
name of a built-in suite (`paper`, ...), or `core@seed=N`: the fresh twin of `core` its
generator builds in memory from seed N (same subtypes, case counts and groups; new
objects, numbers, scenes and wording). `core@seed=0` is the published `core`. Problems
are reported compiler-style, `file:line: case ID · path: what is wrong`, all at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from uniprobe.cases import checks, schema
from uniprobe.cases.checks import CHECK_KINDS
from uniprobe.cases.generate import FILES, build
from uniprobe.cases.limits import MAX_CASES_PER_FILE, MAX_FILES_PER_SUITE
from uniprobe.cases.reading import YamlPath, read_yaml
from uniprobe.cases.schema import Case, CaseOrigin, Suite
from uniprobe.cases.validate import semantic_problems
from uniprobe.errors import CaseFileError, Problem, UnknownNameError, UsageError, did_you_mean
from uniprobe.hashing import sha256_file
from uniprobe.scenes import spec

__all__ = [
    "GENERATED_SUITES",
    "MAX_SUITE_SEED",
    "builtin_suites",
    "load_case_file",
    "load_suite",
    "seeded_suite",
]

GENERATED_SUITES: tuple[str, ...] = ("core",)
"""Built-in suites a generator writes, so that `NAME@seed=N` builds a fresh twin."""
MAX_SUITE_SEED = 999_999_999_999
"""The largest seed of `NAME@seed=N` (12 digits)."""
_SEEDED = re.compile(r"^(?P<name>[^/@]+)@seed=(?P<seed>.*)$")


def _builtin_root() -> Path:
    return Path(str(resources.files("uniprobe.cases") / "suites"))


def builtin_suites() -> list[str]:
    """Names of the suites shipped with uniprobe."""
    root = _builtin_root()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.yaml")))


# --- pydantic errors as people read them ------------------------------------------------


_FIELD_NAMES: set[str] = set()


def _field_names() -> set[str]:
    if not _FIELD_NAMES:
        for mod in (checks, schema, spec):
            for obj in vars(mod).values():
                fields = getattr(obj, "model_fields", None)
                if isinstance(fields, dict):
                    _FIELD_NAMES.update(fields)
        _FIELD_NAMES.update({"else"})
    return _FIELD_NAMES


def _yaml_path(loc: Iterable[str | int], lines: dict[YamlPath, int], base: YamlPath) -> YamlPath:
    """Pydantic's loc mapped onto the YAML path (union tags and type labels dropped)."""
    path: YamlPath = ()
    for e in loc:
        known = (*base, *path, e) in lines
        if not known and (
            e == "conditional" or (isinstance(e, str) and ("[" in e or e in _TYPE_LABELS))
        ):
            continue
        path = (*path, e)
    return path


_TYPE_LABELS = {"int", "str", "bool", "float", "list", "dict", "tuple", "none", "constrained-int"}


def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    loc = err["loc"]
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        if tag == "conditional":
            return "a condition is one check, not another when/then/else"
        return f"unknown check '{tag}'{did_you_mean(tag, CHECK_KINDS)}"
    if kind == "union_tag_not_found":
        return "a check is one mapping such as {count: {...}}, or a when/then/else conditional"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        return f"unknown field '{name}'{did_you_mean(name, _field_names())}"
    if kind == "missing":
        return f"missing field '{loc[-1]}'"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return f"must be a whole number, not {_shown(err.get('input'))}"
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return msg


def _shown(value: object) -> str:
    """A YAML value as the person wrote it, cut short."""
    text = f"'{value}'" if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fmt_path(path: YamlPath) -> str:
    return ".".join(str(p) for p in path)


# --- loading ------------------------------------------------------------------------------


def load_case_file(file: Path) -> tuple[list[Case], dict[str, str]]:
    """Cases of one YAML file, and the hashes of image files they use.

    Raises `CaseFileError` listing every problem in the file.
    """
    raw, reader = read_yaml(file)
    if raw is None or raw == []:
        raise CaseFileError([Problem("no cases (a case file is a YAML list of cases)", file)])
    if not isinstance(raw, list):
        raise CaseFileError([Problem("a case file is a YAML list of cases", file, 1)])
    if len(raw) > MAX_CASES_PER_FILE.value:
        message = f"has {len(raw)} cases; {MAX_CASES_PER_FILE.message()}"
        raise CaseFileError([Problem(message, file, 1)])
    problems = [
        Problem(
            message,
            file,
            line,
            _case_id(raw, path[0]) if path else None,
            _fmt_path(path[1:]) or None,
        )
        for path, line, message in reader.problems
    ]
    cases: list[Case] = []
    for index, item in enumerate(raw):
        base: YamlPath = (index,)
        line = reader.lines.get(base, 1)
        case_id = _case_id(raw, index)
        try:
            case = Case.model_validate(item)
        except ValidationError as exc:
            for err in _deepest(exc.errors()):
                path = _yaml_path(err["loc"], reader.lines, base)
                problems.append(
                    Problem(
                        _message(dict(err)),
                        file,
                        reader.lines.get((*base, *path)) or _deepest_line(reader.lines, base, path),
                        case_id,
                        _fmt_path(path) or None,
                    )
                )
            continue
        sub = {k[1:]: v for k, v in reader.lines.items() if k[:1] == base}
        case.with_origin(CaseOrigin(file=file, line=line, lines=sub))
        cases.append(case)
    file_hashes: dict[str, str] = {}
    for case in cases:
        for p in semantic_problems(case, file.parent):
            problems.append(p)
        for name, src in case.images.items():
            if src.file is not None and (file.parent / src.file).is_file():
                file_hashes[f"{case.id}/{name}"] = sha256_file(file.parent / src.file)
    if problems:
        raise CaseFileError(problems)
    return cases, file_hashes


def _case_id(raw: list[Any], index: object) -> str:
    item = raw[index] if isinstance(index, int) and index < len(raw) else None
    case_id = item.get("id") if isinstance(item, dict) else None
    return (
        str(case_id) if case_id is not None else f"#{index + 1 if isinstance(index, int) else '?'}"
    )


def _deepest(errors: list[Any]) -> list[Any]:
    """Drop 'too short' errors of containers whose items failed: pydantic reports an
    emptied tuple too, which is a consequence, not a second problem."""
    locs = [tuple(e["loc"]) for e in errors]
    return [
        e
        for e in errors
        if not (
            e["type"] == "too_short"
            and any(
                len(other) > len(e["loc"]) and other[: len(e["loc"])] == tuple(e["loc"])
                for other in locs
            )
        )
    ]


def _deepest_line(lines: dict[YamlPath, int], base: YamlPath, path: YamlPath) -> int | None:
    for n in range(len(path), -1, -1):
        if (*base, *path[:n]) in lines:
            return lines[(*base, *path[:n])]
    return None


def seeded_suite(name: str, seed: int) -> Suite:
    """The suite `name` (one of `GENERATED_SUITES`) built from `seed`, named
    `name@seed=N`; seed 0 is the published suite itself (loaded from its files, named
    `name`). Raises `UsageError` for a suite without a generator or a negative seed."""
    if name not in GENERATED_SUITES:
        raise UsageError(
            f"suite '{name}@seed={seed}': only {', '.join(GENERATED_SUITES)} is generated"
            f" from a seed; use '{name}' without @seed"
        )
    if not 0 <= seed <= MAX_SUITE_SEED:
        raise UsageError(
            f"suite '{name}@seed={seed}': the seed must be a whole number from 0 to"
            f" {MAX_SUITE_SEED} (as in {name}@seed=1)"
        )
    if seed == 0:
        return load_suite(name)
    # in the order a folder of the written files loads (sorted file names), so that the
    # suite and `uniprobe cases generate --seed N`'s files have one content hash
    cases = tuple(c for file in sorted(FILES) for c in build(FILES[file], seed))
    problems = [p for case in cases for p in semantic_problems(case, _builtin_root() / name)]
    if problems:
        raise CaseFileError(problems)
    return Suite(name=f"{name}@seed={seed}", cases=cases)


def _parse_seeded(text: str) -> Suite | None:
    """`core@seed=N` built from its generator; None for any other name."""
    m = _SEEDED.match(text)
    if m is None:
        return None
    seed = m["seed"]
    if not seed.isascii() or not seed.isdigit() or int(seed) > MAX_SUITE_SEED:
        raise UsageError(
            f"suite '{text}': the seed must be a whole number from 0 to {MAX_SUITE_SEED}"
            f" (as in {m['name']}@seed=1)"
        )
    return seeded_suite(m["name"], int(seed))


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name (`core@seed=N` builds a fresh twin of `core`), or the
    cases in a YAML file or a folder of YAML files.

    Raises `CaseFileError` with every problem found (across all files), `UsageError` for
    a malformed `@seed=`, or `UnknownNameError` when the name is neither a built-in
    suite nor an existing path.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, str) and not Path(text).exists():
        seeded = _parse_seeded(text)
        if seeded is not None:
            return seeded
    builtin = _builtin_root() / text
    if isinstance(name_or_path, str) and "/" not in text and builtin.is_dir():
        root, name = builtin, text
    else:
        root = Path(name_or_path)
        if root.is_symlink() and not root.exists():
            raise CaseFileError([Problem("cannot read: a link to nothing (or a loop)", root)])
        if not root.exists():
            raise UnknownNameError("suite", text, builtin_suites())
        name = root.stem if root.is_file() else root.name
    files = sorted(root.glob("*.yaml")) + sorted(root.glob("*.yml")) if root.is_dir() else [root]
    if not files:
        raise CaseFileError([Problem("no .yaml case files in this folder", root)])
    if len(files) > MAX_FILES_PER_SUITE.value:
        message = f"has {len(files)} case files; {MAX_FILES_PER_SUITE.message()}"
        raise CaseFileError([Problem(message, root)])
    problems: list[Problem] = []
    cases: list[Case] = []
    hashes: dict[str, str] = {}
    seen: dict[str, Case] = {}
    for file in files:
        try:
            found, file_hashes = load_case_file(file)
        except CaseFileError as exc:
            problems.extend(exc.problems)
            continue
        for case in found:
            if case.id in seen:
                first = seen[case.id].origin
                where = f" (first at {first.file}:{first.line})" if first else ""
                origin = case.origin
                problems.append(
                    Problem(
                        f"duplicate case id{where}", file, origin.line if origin else None, case.id
                    )
                )
                continue
            seen[case.id] = case
            cases.append(case)
        hashes.update(file_hashes)
    if problems:
        raise CaseFileError(problems)
    return Suite(
        name=name,
        cases=tuple(cases),
        source=root.resolve(),
        file_hashes=hashes,
    )
