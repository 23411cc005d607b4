"""The distribution's metadata agrees with what the project tests with, and the docs stand alone."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement

from tests.catalogs import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def pins(path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (REPO / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            (spec,) = req.specifier
            out[req.name.lower().replace("_", "-")] = spec.version
    return out


def test_every_declared_dependency_is_pinned_inside_its_range():
    project = PYPROJECT["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    declared += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    pinned = pins("requirements.txt")
    for req in declared:
        name = req.name.lower().replace("_", "-")
        assert name in pinned, f"{req.name} is a dependency but has no exact pin in requirements.txt"
        assert req.specifier.contains(pinned[name]), f"requirements.txt pins {name}=={pinned[name]} outside {req}"
    assert set(pinned) == {r.name.lower().replace("_", "-") for r in declared}  # no pin without a declaration


def test_hub_extra_never_brings_aws_cdk():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert not [r for r in extras["hub"] + PYPROJECT["project"]["dependencies"] if "cdk" in r or "constructs" in r]


def test_spawner_entry_point_and_console_script():
    project = PYPROJECT["project"]
    assert project["entry-points"]["jupyterhub.spawners"] == {"ecs": "ecsspawner:ECSSpawner"}
    assert project["scripts"] == {"hubspec": "hubspec.cli:run"}
    assert project["license"] == "BSD-3-Clause" and (REPO / "LICENSE").read_text().startswith("BSD 3-Clause License")


def test_docs_link_only_inside_the_repository():
    docs = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "sizes.yaml"]
    docs += sorted((REPO / "services").glob("*.y*ml"))
    for doc in docs:
        text = doc.read_text()
        assert "../shared" not in text and "ecs-facts" not in text, doc
        for target in re.findall(r"\]\(([^)#]+)", text):
            assert not re.match(r"[a-z]+:", target), f"{doc.name}: external link {target}"
            assert (doc.parent / target).exists(), f"{doc.name}: broken link {target}"
