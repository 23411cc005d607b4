"""Import jsonschema without its 3-second optional import of rfc3987_syntax.

jupyterhub's dependencies install rfc3987-syntax, which builds an Earley parser
at import time; jsonschema imports it (if present) only to check the "iri"
formats, which our schemas do not use. Every `hubspec` and `cdk synth`
would pay ~3 s for nothing. When jsonschema is already loaded (in the hub, by
jupyterhub), this changes nothing.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def import_jsonschema() -> ModuleType:
    if "jsonschema" in sys.modules:
        return sys.modules["jsonschema"]
    blocked = "rfc3987_syntax" not in sys.modules
    if blocked:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # makes `import rfc3987_syntax` raise ImportError
    try:
        module = importlib.import_module("jsonschema")
    finally:
        if blocked:
            del sys.modules["rfc3987_syntax"]
    return module
