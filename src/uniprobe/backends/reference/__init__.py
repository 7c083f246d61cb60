"""The built-in reference generators, `reference/oracle` and `reference/literal`.

* `backend`: the backends themselves (registered under the provider name `reference`);
* `planner`: what they draw: a scene spec planned from a case's checks, so that the
  oracle satisfies every check and the literal reference satisfies every literal variant.
"""

from __future__ import annotations

from uniprobe.backends.reference.backend import ReferenceBackend
from uniprobe.backends.reference.planner import Planner

__all__ = ["Planner", "ReferenceBackend"]
