"""Human labels, kept beside the run log in `RUN/labels.sqlite` (never in samples or scores).

* `db`: the label file (`LabelStore`, `labels_path`);
* `label`: one row (`Label`); `keys`: the identity of what a label answers (an item: a
  question about an image, by content);
* `files`: CSV and JSONL export and import;
* `votes`: the majority of several annotators, which the `human` judge uses.

The annotation app (`uniprobe.annotate`) writes labels; the human judge
(`uniprobe.scoring.judges.human`) and the agreement statistics read them.
"""

from __future__ import annotations

from uniprobe.store.labels.db import Imported, LabelStore, labels_path
from uniprobe.store.labels.files import ExportFormat
from uniprobe.store.labels.keys import item_key
from uniprobe.store.labels.label import Label, LabelValue
from uniprobe.store.labels.votes import Majority, majority

__all__ = [
    "ExportFormat",
    "Imported",
    "Label",
    "LabelStore",
    "LabelValue",
    "Majority",
    "item_key",
    "labels_path",
    "majority",
]
