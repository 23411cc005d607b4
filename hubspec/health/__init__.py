"""The health-check tools built on the core: state machine, timing, lint, report, tune, probes.

`hubspec` (the package above) is the core the CDK app and the hub import; this package
reads what the core loads and never the other way round (tests/project/test_layers.py).
"""
