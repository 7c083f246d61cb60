"""Shared test helpers."""

from __future__ import annotations

import os

# Keep numeric libraries to one thread: the suite runs on 2 shared cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# A two-case suite (a numeric rule; a conditional after an edit) shared by tests.
TINY_SUITE = """\
- id: tiny.numeric.birds
  family: global_instruction
  subtype: numeric_transform
  source: core
  turns:
    - user: "From now on, if I mention a number, subtract 2 before using it."
    - user: "Generate an image of 5 birds."
      expect:
        - count: {object: bird, equals: 3, literal: 5}

- id: tiny.post.dog_cat
  family: post_generation
  subtype: condition_after_edit
  source: core
  turns:
    - user: "Generate an image of a dog and a cat."
      expect:
        - present: {object: dog}
        - present: {object: cat}
    - user: "Make the dog a cat. Then put them on the beach if there are no cats."
      edit: true
      expect:
        - absent: {object: dog}
        - when: {absent: {object: cat}}
          then: [{present: {object: beach}}]
          else: [{absent: {object: beach}}]
          literal: then
          assumed: false
"""
