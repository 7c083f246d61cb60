"""Probes: asking the model, in words, what it should draw and what it drew.

With `--probe knows,sees` the runner asks, at every turn that has checks, in branches of
the same conversation that the main dialogue never sees: before drawing, what the image
should show (*knows*); after drawing, what the image it drew shows (*sees*). One
question per check, worded from the check. The diagnosis crosses the answers with the
judge's verdicts: does the model know what to draw, draw it, and see what it drew?
"""
