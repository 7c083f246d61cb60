"""Human annotation: people answer the checks of a run, and their labels become a judge.

* `items`: what there is to answer in a run, one page per canvas (`questions` phrases
  each check);
* `app` and `serve`: the annotation web app (`uniprobe annotate RUN`);
* `agreement`: Cohen's kappa judge vs people, Krippendorff's alpha between people.

The labels themselves are kept by `uniprobe.store.labels` (`RUN/labels.sqlite`).
"""
