"""The documentation names only what exists: files, modules, code names, settings and `paspor` commands.

Every README, ADR and page under docs/ (and BENCHMARKS.md, and the data files' SOURCES.md) is read
as text and checked for:

- relative markdown links, which must lead to a file of the repository;
- file paths in inline code (`shared/release.py`, `routes_*.py`, `compose.yaml`) and in the first
  column of plain code blocks: a path whose first folder is one of the repository's, or a file name
  with a source or documentation ending, must exist (beside the page, or from the repository's
  root). Other paths are what the system writes at run time (`paspor-data/keys`) and are left alone;
- dotted module names (`shared.calendar`), which must import, up to an attribute of the module;
- code names in inline code: `Class.attribute`, `Event(fields)` and names of two words or more
  (`SessionQuota`), which must be defined in services/, shared/, paspor/ or benchmarks/
  (a class, a function, a module constant, a class attribute, or an eventsourcing `@event` name);
- `PASPOR_*` variables, which must be a field of one of the services' settings classes (or a
  JetStream stream's name); `PASPOR_X_*` stands for the fields that start so;
- `paspor ...` command lines in inline code and code blocks: each subcommand must exist in the typer
  app, and each `--option` must be one of the command's.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer.main

ROOT = Path(__file__).resolve().parents[2]
CODE_FOLDERS = ("services", "shared", "paspor", "benchmarks")
DOCS = sorted(
    {
        ROOT / "README.md",
        ROOT / "BENCHMARKS.md",
        *(ROOT / "docs").rglob("*.md"),
        *(path for folder in CODE_FOLDERS for path in (ROOT / folder).rglob("*.md")),
    }
)
FILE_ENDINGS = (".py", ".md", ".yaml", ".yml", ".toml", ".csv", ".png", ".conf", ".cfg", ".sh", ".txt")
FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SETTING = re.compile(r"PASPOR_[A-Z0-9_]*[A-Z0-9](\*|_\*)?|PASPOR_\*")
COMMAND = re.compile(r"(?<![\w/.-])paspor ([^`\n]+)")
CODE_NAME = re.compile(r"([A-Z][A-Za-z0-9]*(?:\.[A-Za-z_]\w*)?)(\(.*\))?")


@dataclass(frozen=True)
class Page:
    """A documentation page: where it is (links and file names are relative to it) and its text."""

    path: Path
    text: str

    @classmethod
    def read(cls, path: Path) -> Page:
        return cls(path, path.read_text(encoding="utf-8"))


def texts(page: Page) -> tuple[str, list[str], list[tuple[str, str]]]:
    """A page's prose (code blocks removed), its inline code spans, and its code blocks with their language."""
    text = page.text
    blocks = [(m.group(1), m.group(2)) for m in FENCED.finditer(text)]
    prose = FENCED.sub("", text)
    return prose, [" ".join(span.split()) for span in INLINE.findall(prose)], blocks


def relative(doc: Path) -> str:
    return str(doc.relative_to(ROOT))


# --- files and links --------------------------------------------------------------------------


def broken_links(page: Page) -> list[str]:
    prose, _, _ = texts(page)
    problems = []
    for target in LINK.findall(prose):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # a URL, mailto: or an anchor on the page
        path = (page.path.parent / target.split("#")[0]).resolve()
        if not path.exists() or ROOT not in (path, *path.parents):
            problems.append(f"link to {target}: no such file in the repository")
    return problems


def names_a_repository_file(word: str) -> bool:
    """Whether a word is meant as a file of this repository (see the module's docstring)."""
    if not re.fullmatch(r"[\w.*/-]+", word) or word.startswith("/"):
        return False
    if word.startswith(("./", "../")):
        return True
    if "/" in word:
        return (ROOT / word.split("/")[0]).exists() and not word.startswith(".")
    return word.endswith(FILE_ENDINGS)


def exists(word: str, doc: Path) -> bool:
    for base in (doc.parent, ROOT):
        if any(char in word for char in "*?"):
            if any(base.glob(word)):
                return True
            continue
        path = (base / word).resolve()
        if path.exists() and ROOT in (path, *path.parents):
            return True
    return False


def missing_files(page: Page) -> list[str]:
    _, spans, blocks = texts(page)
    words = [span for span in spans if " " not in span]
    words += [
        line.split()[0] for language, body in blocks if not language for line in body.splitlines() if line.strip()
    ]
    return [
        f"`{word}`: no such file" for word in words if names_a_repository_file(word) and not exists(word, page.path)
    ]


# --- modules and code names -------------------------------------------------------------------


def importable(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            if importlib.util.find_spec(module_name) is None:
                continue
        except ModuleNotFoundError:  # a name inside a module that is not a package
            continue
        value: object = importlib.import_module(module_name)
        for attribute in parts[cut:]:
            if not hasattr(value, attribute):
                return False
            value = getattr(value, attribute)
        return True
    return False


@cache
def known_subjects() -> frozenset[str]:
    """Every NATS subject the code declares, a partition written pNN."""
    from shared.events.subjects import VERBS, Commands

    events = {f"paspor.{context}.pNN.{verb}" for context, verb in VERBS.values()}
    commands = {value.replace("p{partition:02d}", "pNN") for name, value in vars(Commands).items() if name.isupper()}
    return frozenset(events | commands)


def subject_exists(pattern: str) -> bool:
    """`paspor.cmd.booking.*` or `paspor.ticket.pNN.checked_in|no_show`: each choice matches a declared subject."""
    head, _, last = pattern.rpartition(".")
    for choice in last.split("|"):
        wanted = re.escape(f"{head}.{choice}").replace(r"\*", r"[^.]+")
        if not any(re.fullmatch(wanted, subject) for subject in known_subjects()):
            return False
    return True


def missing_modules(page: Page) -> list[str]:
    """Dotted names of modules (and their attributes), and the NATS subjects written like them."""
    _, spans, _ = texts(page)
    problems = []
    for span in spans:
        if re.fullmatch(rf"({'|'.join(CODE_FOLDERS)})(\.\w+)+", span) and importable(span):
            continue
        if re.fullmatch(r"paspor(\.[\w*|]+)+", span):
            if not subject_exists(span):
                problems.append(f"`{span}`: no such module, attribute or subject")
        elif re.fullmatch(rf"({'|'.join(CODE_FOLDERS)})(\.\w+)+", span):
            problems.append(f"`{span}`: no such module or attribute")
    return problems


@cache
def code_names() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """Every name the code defines at module level, and each class's attributes (methods, fields, events)."""
    names: set[str] = set()
    members: dict[str, set[str]] = {}
    for folder in CODE_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names.update(_defined(tree.body))
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    members.setdefault(node.name, set()).update(_defined(node.body))
                    names.update(_event_names(node))
    return frozenset(names), {name: frozenset(found) for name, found in members.items()}


def _defined(body: list[ast.stmt]) -> set[str]:
    found: set[str] = set()
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            found.add(node.name)
            found.update(_event_names(node))
        elif isinstance(node, ast.Assign):
            found.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.add(node.target.id)
    return found


def _event_names(node: ast.AST) -> set[str]:
    """The names eventsourcing gives the events of `@event("Name")` methods."""
    found = set()
    for decorator in getattr(node, "decorator_list", []):
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "event" and decorator.args:
            first = decorator.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    for child in getattr(node, "body", []):
        if isinstance(child, ast.FunctionDef):
            found.update(_event_names(child))
    return found


def missing_code_names(page: Page) -> list[str]:
    _, spans, _ = texts(page)
    names, members = code_names()
    problems = []
    for span in spans:
        match = CODE_NAME.fullmatch(span)
        if match is None or span.endswith(FILE_ENDINGS):
            continue
        name, called = match.groups()
        if not ("." in name or called or re.search(r"[a-z0-9][A-Z]", name)):
            continue  # one capitalised word (`Location`, `Ticket`): too often plain English
        owner, _, attribute = name.partition(".")
        if owner not in names:
            problems.append(f"`{span}`: {owner} is not defined in the code")
        elif attribute and attribute not in members.get(owner, ()):
            problems.append(f"`{span}`: {owner} has no {attribute}")
    return problems


# --- settings ---------------------------------------------------------------------------------


# read by tests/support.py, tests/conftest.py and tests/browser/conftest.py
TEST_VARIABLES = {"PASPOR_TEST_TODAY", "PASPOR_TEST_POSTGRES", "PASPOR_TEST_ARTEFACTS", "PASPOR_CHROMIUM"}


@cache
def known_variables() -> frozenset[str]:
    """PASPOR_* variables: every settings class's fields, the JetStream streams' names, and the test suite's."""
    for module in ("services.booking.main", "services.quota.main", "services.notifier.main", "services.gateway.main"):
        importlib.import_module(module)
    from shared.events import STREAMS
    from shared.runtime.settings import CommonSettings

    found = {stream.name for stream in STREAMS} | TEST_VARIABLES
    classes = [CommonSettings]
    while classes:
        settings = classes.pop()
        classes.extend(settings.__subclasses__())
        prefix = settings.model_config.get("env_prefix", "")
        found.update(f"{prefix}{field}".upper() for field in settings.model_fields)
    return frozenset(found)


def unknown_settings(page: Page) -> list[str]:
    known = known_variables()
    problems = []
    for match in SETTING.finditer(page.text):
        name = match.group(0)
        if name.endswith("*"):
            if not any(variable.startswith(name.rstrip("*")) for variable in known):
                problems.append(f"{name}: no setting starts so")
        elif name not in known:
            problems.append(f"{name}: not a setting of any service (nor a stream)")
    return sorted(set(problems))


# --- paspor commands --------------------------------------------------------------------------


@cache
def cli() -> Any:
    """The `paspor` command as click sees it (typer's own copy of click: groups have `commands`)."""
    from paspor.cli import app

    return typer.main.get_command(app)


def command_lines(page: Page) -> list[str]:
    _, spans, blocks = texts(page)
    lines = [m.group(1) for span in spans for m in COMMAND.finditer(span)]
    for _, body in blocks:
        for line in body.splitlines():
            lines += [m.group(1) for m in COMMAND.finditer(line.split(" #")[0])]
    return lines


def check_command(words: str) -> list[str]:
    """Problems with one `paspor ...` line: unknown subcommands and options."""
    command = cli()
    path = "paspor"
    for raw in words.replace("\\|", "|").split():
        if raw in ("|", ">", ">>", "&&", "&", ";", "\\"):
            break
        word = raw.strip("[]()`,;'\"")
        if word.startswith("--"):
            option = word.split("=")[0]
            opts = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
            if option not in opts:
                return [f"`{path} {option}`: no such option"]
            continue
        subcommands = getattr(command, "commands", {})
        if not subcommands or not re.fullmatch(r"[a-z][a-z0-9-]*(\|[a-z][a-z0-9-]*)*", word):
            continue  # an argument of the command (or a placeholder)
        choices = word.split("|")
        unknown = [choice for choice in choices if choice not in subcommands]
        if unknown:
            return [f"`{path} {unknown[0]}`: no such command"]
        if len(choices) > 1:
            break  # several commands at once: their options are not checked
        command, path = subcommands[word], f"{path} {word}"
    return []


def unknown_commands(page: Page) -> list[str]:
    return sorted({problem for line in command_lines(page) for problem in check_command(line)})


CHECKS = [broken_links, missing_files, missing_modules, missing_code_names, unknown_settings, unknown_commands]


@pytest.mark.parametrize("doc", DOCS, ids=relative)
def test_the_documentation_names_only_what_exists(doc):
    page = Page.read(doc)
    problems = [problem for check in CHECKS for problem in check(page)]
    assert problems == [], f"{relative(doc)} names what does not exist:\n" + "\n".join(problems)


def test_the_checker_catches_what_does_not_exist():
    page = Page(ROOT / "docs" / "a-stale-page.md", STALE)
    problems = [problem for check in CHECKS for problem in check(page)]
    assert problems == [
        "link to adr/0099-nothing.md: no such file in the repository",
        "`shared/nowhere.py`: no such file",
        "`services/quota/README.txt`: no such file",
        "`shared.release.NO_SUCH_NAME`: no such module or attribute",
        "`SessionQuota.reserve_twice`: SessionQuota has no reserve_twice",
        "`NoSuchAggregate`: NoSuchAggregate is not defined in the code",
        "`Reopened(office, day)`: Reopened is not defined in the code",
        "PASPOR_QUOTA_WINDOW_WEEKS: not a setting of any service (nor a stream)",
        "`paspor audit --no-such-option`: no such option",
        "`paspor bench nothing`: no such command",
    ]


STALE = """# A stale page
See [the ADR](adr/0099-nothing.md), `shared/nowhere.py` and `shared/release.py` (that one exists).
`shared.release.NO_SUCH_NAME` beside `shared.release.ReleaseSchedule`; `SessionQuota.reserve_twice`
beside `SessionQuota.decide` and `Booking.Requested`; `NoSuchAggregate`; `Reopened(office, day)` beside
`Decided(office, day, session, decisions)` and `Location` (a header); `PASPOR_QUOTA_WINDOW_WEEKS`
beside `PASPOR_QUOTA_WINDOW_DAYS` and `PASPOR_GATEWAY_*`; `paspor-data/keys` is written at run time.

```
services/quota/README.txt   a file that is not there
```

```bash
paspor audit --no-such-option   # an option the command does not have
paspor bench quota-cluster --requests 20000 --sync always
paspor bench booking|nothing
```
"""
