"""Where the tests' catalogs are.

Tests of the machinery (loader, lint, constructs, spawner) run on fixture
catalogs under tests/, so editing the bundled `services/` or `sizes.yaml` can
never break them. Tests of the bundled catalog (marker `catalog`) read
`BUNDLED_*` and derive every expectation from what the files say.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLED_SERVICES = REPO / "services"
BUNDLED_SIZES = REPO / "sizes.yaml"

FIXTURES = REPO / "tests" / "fixtures"
# A frozen copy of the first bundled catalog: chat (prefers ECS health), waiide, lab; four sizes.
HUB_CATALOG_SERVICES = FIXTURES / "hub_catalog" / "services"
HUB_CATALOG_SIZES = FIXTURES / "hub_catalog" / "sizes.yaml"
# Sizes for machinery tests that write their own service files.
FIXTURE_SIZES = HUB_CATALOG_SIZES
