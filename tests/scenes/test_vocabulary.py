from __future__ import annotations

import pytest

from uniprobe.scenes.vocabulary import (
    BACKDROPS,
    CONCEPTS,
    INCLUDES,
    UnknownWordError,
    glyph_concepts,
    hyponyms,
    known_words,
    plural,
    resolve,
    try_resolve,
)


@pytest.mark.parametrize(
    ("word", "name", "concepts"),
    [
        pytest.param("dolphins", "dolphin", {"dolphin"}, id="plural"),
        pytest.param("The Lemon", "lemon", {"lemon"}, id="article-and-case"),
        pytest.param("alligator", "crocodile", {"crocodile"}, id="synonym"),
        pytest.param("mice", "mouse", {"mouse"}, id="irregular-plural"),
        pytest.param("women", "woman", {"woman"}, id="irregular-plural-2"),
        pytest.param("ice creams", "ice cream", {"ice cream"}, id="multi-word"),
        pytest.param("ocean", "water", {"water"}, id="backdrop-synonym"),
        pytest.param(
            "people", "person", {"man", "woman", "seated person", "runner"}, id="category"
        ),
        pytest.param("standing people", "standing person", {"man", "woman"}, id="category-2"),
    ],
)
def test_resolve(word: str, name: str, concepts: set[str]) -> None:
    term = resolve(word)
    assert term.name == name
    assert term.concepts == frozenset(concepts)


def test_categories_cover_their_members() -> None:
    animals = resolve("animals")
    assert animals.is_category
    assert {"dog", "cat", "zebra", "dolphin"} <= animals.concepts
    assert "apple" not in animals.concepts
    assert resolve("fruit").concepts >= {"apple", "lemon", "lime", "watermelon"}
    assert not resolve("dog").is_category


def test_backdrops_resolve_as_backdrops() -> None:
    for name in BACKDROPS:
        assert resolve(name).render == "backdrop"
    assert resolve("road").render == "backdrop"
    assert resolve("zebra").render == "glyph"


def test_unknown_word_suggests_the_closest() -> None:
    assert try_resolve("unicorn") is None
    with pytest.raises(UnknownWordError) as info:
        resolve("dolphn")
    assert str(info.value) == "'dolphn' is not in the reference vocabulary; did you mean 'dolphin'?"


def test_every_glyph_concept_has_a_glyph_and_is_reachable() -> None:
    words = set(known_words())
    for concept in glyph_concepts():
        assert concept.glyph
        assert concept.name in words


@pytest.mark.parametrize(
    "word,expected",
    [
        pytest.param("bird", "birds", id="regular"),
        pytest.param("mouse", "mice", id="irregular"),
        pytest.param("dolphins", "dolphins", id="already-plural"),
        pytest.param("grapes", "grapes", id="name-is-plural"),
        pytest.param("grape", "grapes", id="synonym-of-plural-name"),
    ],
)
def test_plural_for_people(word: str, expected: str) -> None:
    assert plural(word) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        pytest.param("bird", {"duck", "chicken", "penguin", "flamingo"}, id="bird"),
        pytest.param("Birds", {"duck", "chicken", "penguin", "flamingo"}, id="plural"),
        pytest.param("trees", {"pine tree", "palm tree"}, id="tree"),
        pytest.param("flowers", {"tulip", "sunflower"}, id="flower-resolves-to-tulip"),
        pytest.param("fish", {"shark"}, id="ambiguous"),
        pytest.param("duck", set(), id="leaf"),
        pytest.param("sparrow", set(), id="synonym-includes-nothing"),
        pytest.param("tulip", set(), id="a-flower-is-not-a-flower-word"),
        pytest.param("vehicles", {c.name for c in CONCEPTS if "vehicle" in c.is_a}, id="category"),
    ],
)
def test_hyponyms(word: str, expected: set[str]) -> None:
    assert hyponyms(word) == frozenset(expected)


def test_hyponyms_of_a_category_include_what_its_members_include() -> None:
    plants = hyponyms("plants")
    assert {"tree", "pine tree", "palm tree", "tulip", "sunflower", "cactus"} <= plants
    assert {"duck", "penguin", "bird", "shark"} <= hyponyms("animal")
    assert "tomato" in hyponyms("fruit")
    assert "tomato" not in resolve("fruit").concepts


def test_includes_do_not_change_what_words_resolve_to() -> None:
    # a 'bird' count in the reference world still counts the bird glyph only
    assert resolve("bird").concepts == frozenset({"bird"})
    assert resolve("trees").concepts == frozenset({"tree"})
    assert resolve("flower").concepts == frozenset({"tulip"})
    assert resolve("fish").concepts == frozenset({"fish"})


def test_includes_name_known_words_and_concepts() -> None:
    names = {c.name for c in CONCEPTS}
    for word, included in INCLUDES.items():
        assert try_resolve(word) is not None, word
        assert set(included) <= names, word
        assert word not in included


def test_hyponyms_of_an_unknown_word_raise() -> None:
    with pytest.raises(UnknownWordError, match="'unicorns' is not in the reference vocabulary"):
        hyponyms("unicorns")
