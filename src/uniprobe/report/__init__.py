"""report: metrics with bootstrap intervals, and the static HTML report folder.

`uniprobe.report.build.write_report` builds the folder (summary, charts, leaderboard,
gallery); `uniprobe.report.metrics` computes what it shows.
"""
