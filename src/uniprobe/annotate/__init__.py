"""Human annotation: people answer the checks of a run, and their labels become a judge.

* `store`: the label file beside the run log, `RUN/labels.sqlite` (`label`: one row;
  `files`: CSV and JSONL export and import);
* `items`: what there is to answer in a run, one page per canvas (`questions` phrases
  each check, `keys` identifies an item by content);
* `app` and `serve`: the annotation web app (`uniprobe annotate RUN`);
* `agreement`: Cohen's kappa judge vs people, Krippendorff's alpha between people;
* `votes`: the majority of several annotators, which the `human` judge uses.
"""

from __future__ import annotations

from uniprobe.annotate.label import Label, LabelValue
from uniprobe.annotate.store import LabelStore, labels_path

__all__ = ["Label", "LabelStore", "LabelValue", "labels_path"]
