"""Built-in policies: route tables derived from the judges' declared kinds.

The tables are pinned for the kinds that existed when routes became derived; a kind
added later routes wherever the preference lists send it."""

from __future__ import annotations

import pytest

from uniprobe.scoring.judge import judges
from uniprobe.scoring.policy import policies, preferring, route_kinds

OBJECT = ("count", "present", "absent", "relation", "position", "color")
PIXELS = {"unchanged": "pixels", "same_as": "pixels", "style": "pixels", "text": "ocr"}
VLM_REST = {"style": "vlm", "ask": "vlm", "unchanged": "vlm", "same_as": "vlm", "text": "ocr"}

ROUTES = {
    "reference": {**{k: "reference" for k in OBJECT}, **PIXELS},
    "vlm": {**{k: "vlm" for k in OBJECT}, **VLM_REST},
    "detector": {**{k: "detector" for k in OBJECT}, **PIXELS},
    "detector+vlm": {**{k: "agree(detector,vlm)" for k in OBJECT}, **VLM_REST},
    "vlm-verify": {**{k: "verify(detector,vlm)" for k in OBJECT}, **VLM_REST},
}
PINNED = (*OBJECT, "text", "style", "unchanged", "same_as", "ask")
ROUTES["human"] = {k: "human" for k in PINNED}


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in ROUTES])
def test_builtin_route_tables(name: str) -> None:
    routes = policies.get(name).routes
    assert {k: r for k, r in routes.items() if k in PINNED} == ROUTES[name]


def test_every_builtin_policy_is_tested() -> None:
    assert set(policies.names()) == set(ROUTES)


def test_a_kind_goes_to_the_first_route_that_answers_it() -> None:
    assert preferring("ocr", "vlm")["text"] == "ocr"
    assert preferring("vlm", "ocr")["text"] == "ocr"  # the VLM judge does not read text
    assert preferring("pixels", "reference")["style"] == "pixels"
    assert "ask" not in preferring("reference", "pixels", "ocr")


def test_route_kinds_of_combinations() -> None:
    detector, vlm = judges.get("detector").kinds, judges.get("vlm").kinds
    assert route_kinds("agree(detector,vlm)") == detector & vlm
    assert route_kinds("verify(detector,vlm)") == detector
    assert route_kinds("pixels") == judges.get("pixels").kinds
