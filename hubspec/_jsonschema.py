"""Import jsonschema without the optional format-checker packages it would import.

jsonschema's `_format` module imports, when installed, one package per string format ("iri",
"hostname", "date-time", "color", "json-pointer", "uri-template", "duration" ...). jupyterhub's
dependencies install most of them; rfc3987_syntax alone builds an Earley parser at import time
(about 3 s), and the rest still cost about 60 ms at every start of `hubspec` or `cdk synth`. Our
schemas use no `format` keyword (a test checks that), so none of them is needed: each import is
made to fail while jsonschema loads, and jsonschema leaves that format unchecked. When jsonschema is
already loaded (in the hub, by jupyterhub), this changes nothing.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

# Every optional import of jsonschema/_format.py (jsonschema 4.x).
FORMAT_PACKAGES = (
    "fqdn",
    "idna",
    "isoduration",
    "jsonpointer",
    "rfc3339_validator",
    "rfc3986_validator",
    "rfc3987",
    "rfc3987_syntax",
    "uri_template",
    "webcolors",
)


def import_jsonschema() -> ModuleType:
    if "jsonschema" in sys.modules:
        return sys.modules["jsonschema"]
    blocked = [name for name in FORMAT_PACKAGES if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        module = importlib.import_module("jsonschema")
    finally:
        for name in blocked:
            del sys.modules[name]
    return module
