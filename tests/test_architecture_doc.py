"""docs/ARCHITECTURE.md lists every module of the package under its folder (the page a newcomer reads first)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_map():
    """`{folder: {module file names}}` of the module map's code block ("" for the top folder)."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = text.split("## Module map", 1)[1].split("```", 2)[1]
    listed, folder = {}, None
    for line in block.splitlines():
        if line.strip() == "kerasnas/":
            folder = ""
            continue
        top = re.match(r"^  (\w+)/\s", line + " ")
        if top:
            folder = top.group(1)
        elif re.match(r"^\S", line):
            folder = None  # benchmarks/, tutorials/, ...: outside the package
        if folder is None:
            continue
        for name in re.findall(r"^\s+((?:\w+\.py\s*)+)", line):
            for module in name.split():
                listed.setdefault(folder, set()).add(module)
    return listed


def _modules():
    package = ROOT / "kerasnas"
    found = {}
    for path in sorted(package.rglob("*.py")):
        folder = path.parent.relative_to(package).as_posix()
        folder = "" if folder == "." else folder
        if path.name == "__init__.py" and folder:
            continue  # a subpackage is its folder's line
        found.setdefault(folder, set()).add(path.name)
    return found


def test_every_module_is_listed_under_its_folder():
    listed, found = _module_map(), _modules()
    missing = sorted(f"kerasnas/{folder + '/' if folder else ''}{name}"
                     for folder, names in found.items() for name in names - listed.get(folder, set()))
    assert not missing, f"docs/ARCHITECTURE.md's module map does not list: {missing}"
    stale = sorted(f"kerasnas/{folder + '/' if folder else ''}{name}"
                   for folder, names in listed.items() for name in names - found.get(folder, set()))
    assert not stale, f"docs/ARCHITECTURE.md lists modules that do not exist: {stale}"


def test_the_top_folder_holds_only_the_entry_points():
    # sklearn.py is the public path `kerasnas.sklearn` of deploy/estimators.py, an entry point
    assert _modules()[""] == {"__init__.py", "__main__.py", "cli.py", "sklearn.py"}
