"""scoring/judges."""
