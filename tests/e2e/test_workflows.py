"""The README's workflows, followed literally on a copy of the repository, end with a green suite.

A team adds a service and a size, tunes a service from measured start-ups, and changes an interval.
Each time the documented steps (check, snapshot update, report) are the whole job: the suite passes
again, and the only files that changed are the ones a reviewer should read — the service files,
sizes.yaml, the snapshots and docs/healthchecks.md.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.catalogs import REPO

pytestmark = pytest.mark.e2e

# What a reviewer should see in a catalog change, and nothing else.
REVIEWABLE = ("services/", "sizes.yaml", "tests/cdk/__snapshots__/", "docs/healthchecks.md")
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "cdk.out", "dist", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


class Checkout:
    """A copy of the working tree sharing this checkout's installed .venv and node_modules."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CDK_", "PYTEST_"))}

    def run(self, *args: str, stdout: Path | None = None) -> subprocess.CompletedProcess[str]:
        with open(stdout, "w") if stdout else open(os.devnull, "w") as sink:
            proc = subprocess.run(
                list(args),
                cwd=self.root,
                env=self.env,
                stdout=sink if stdout else subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                timeout=600,
            )
        out = "" if stdout else proc.stdout
        assert proc.returncode == 0, f"{' '.join(args)} exited {proc.returncode}:\n{out[-4000:]}\n{proc.stderr[-4000:]}"
        return proc

    def make(self, target: str) -> None:
        # -o: the shared venv is installed already; never let a copy's make reinstall it.
        self.run("make", "-o", ".venv/.installed", target)

    def pytest(self, *args: str) -> str:
        return self.run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args).stdout

    def changed(self) -> set[str]:
        out = self.run("git", "status", "--porcelain", "--untracked-files=all").stdout
        return {line[3:] for line in out.splitlines()}

    def commit(self, message: str) -> None:
        self.run("git", "add", "-A")
        self.run("git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", message)

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        assert old in text, f"{relative}: {old!r} not found"
        path.write_text(text.replace(old, new, 1))

    def documented_steps(self) -> None:
        """README, "Adding a service or a size": the commands of its block, as written, up to `make test`
        (the test runs the copy's suite itself, without the end-to-end tests, which would recurse)."""
        for step in readme_steps():
            if step == ["make", "test"]:
                break
            if step[0] == "make":
                (target,) = step[1:]
                self.make(target)
            else:
                assert step[:3] == [".venv/bin/python", "-m", "pytest"], step
                self.pytest(*step[3:])

    def assert_only_reviewable_files_changed(self) -> set[str]:
        changed = self.changed()
        assert changed, "the workflow changed nothing"
        assert {p for p in changed if not p.startswith(REVIEWABLE)} == set(), changed
        return changed


def readme_steps() -> list[list[str]]:
    """The shell block after "Then, every time:" in the README's "Adding a service or a size"."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Adding a service or a size", 1)[1]
    block = section.split("Then, every time:", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    steps = [shlex.split(line, comments=True) for line in block.splitlines()]
    return [step for step in steps if step]


def test_readme_steps_are_the_ones_this_test_follows():
    assert readme_steps() == [
        ["make", "check"],
        [".venv/bin/python", "-m", "pytest", "tests/cdk", "-m", "not e2e", "--snapshot-update"],
        ["make", "report"],
        ["make", "test"],
    ]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Checkout:
    root = tmp_path_factory.mktemp("workflows") / "repo"
    shutil.copytree(
        REPO, root, symlinks=True, ignore=NOT_COPIED
    )  # copy2 keeps mtimes (make sees no change); symlinks as links (the bad examples hold dangling and looping ones)
    for shared in (".venv", "node_modules"):
        (root / shared).symlink_to(REPO / shared)
    copy = Checkout(root)
    copy.run("git", "init", "-q")
    copy.commit("as checked out")
    where = copy.run(sys.executable, "-c", "import hubspec, stacks; print(hubspec.__file__, stacks.__file__)").stdout
    assert all(path.startswith(str(root)) for path in where.split()), where  # the copy's code, not the checkout's
    return copy


def test_add_a_service_and_a_size(checkout: Checkout):
    chat = (checkout.root / "services" / "chat.yaml").read_text()
    assert "name: chat" in chat and "port: 8888" in chat and "sizes: [small, medium]" in chat
    rstudio = (
        chat.replace("name: chat", "name: rstudio", 1)
        .replace("port: 8888", "port: 8787", 1)
        .replace("sizes: [small, medium]", "sizes: [small, medium, xxlarge]", 1)
    )
    (checkout.root / "services" / "rstudio.yaml").write_text(rstudio)
    sizes = checkout.root / "sizes.yaml"
    sizes.write_text(sizes.read_text().rstrip("\n") + "\n  xxlarge:\n    cpu: 8192\n    memory: 16384\n")

    checkout.documented_steps()
    changed = checkout.assert_only_reviewable_files_changed()
    assert {"services/rstudio.yaml", "sizes.yaml", "docs/healthchecks.md"} <= changed
    assert "tests/cdk/__snapshots__/test_snapshots/test_container_snapshot[rstudio-xxlarge].json" in changed
    checkout.pytest("-m", "catalog")
    checkout.commit("add rstudio and xxlarge")


def test_tune_a_service_from_measured_startups(checkout: Checkout, tmp_path: Path):
    samples = tmp_path / "startups.csv"
    samples.write_text(
        "".join(f"{20 + (i * 7) % 31}\n" for i in range(40))
    )  # 20-50 s; P95 (nearest rank, 38th of 40) 48 s
    checkout.run(sys.executable, "-m", "hubspec", "tune", "chat", "--samples", str(samples), "--write")

    checkout.documented_steps()
    changed = checkout.assert_only_reviewable_files_changed()
    assert "services/chat.yaml" in changed
    assert "start_period: 72" in (checkout.root / "services" / "chat.yaml").read_text()  # ceil(48 x 1.5)
    checkout.pytest("-m", "catalog")
    checkout.commit("tune chat")


def test_change_an_interval_and_the_whole_suite_passes(checkout: Checkout):
    checkout.edit("services/chat.yaml", "interval: 15", "interval: 20")

    checkout.documented_steps()
    changed = checkout.assert_only_reviewable_files_changed()
    assert "tests/cdk/__snapshots__/test_snapshots/test_container_snapshot[chat-small].json" in changed
    # After all three changes, the whole fast suite of the copy, not only the catalog's tests.
    checkout.pytest("-m", "not e2e")
