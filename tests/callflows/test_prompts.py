"""Every sentence the hotline says is in callflows.prompts, so a translation has one module to
go through: no other module of callflows writes one, or hands English words to a prompt."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from callflows import prompts
from callflows.state import BLOCKS

CALLFLOWS = Path(__file__).resolve().parents[2] / "callflows"
PROMPTS = CALLFLOWS / "prompts.py"

# A sentence ends with a word (or a number read out) and a sentence mark, then a space or the
# end: "Goodbye.", "Who won the game of chance? Press 1 ...". Code strings do not ("0.0001",
# "ballot.toml", "figure/first/1").
SENTENCE_END = re.compile(r"[A-Za-z0-9}][.?!](\s|$)")
WORD = re.compile(r"[A-Za-z]{2,}")


def text_of(node: ast.AST) -> str | None:
    """The text of a string literal or f-string (each placeholder as "{}"), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [text_of(part) for part in node.values]  # None for each placeholder
        return "".join("{}" if part is None else part for part in parts)
    return None


def is_sentence(text: str) -> bool:
    return len(WORD.findall(text)) >= 2 and SENTENCE_END.search(text) is not None


def _not_for_callers(tree: ast.AST) -> set[int]:
    """The string nodes no caller hears: docstrings (any string that is a statement of its
    own), exception and assert messages (for developers), and the parts of an f-string
    (the f-string is judged whole)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and text_of(node.value) is not None:
            skipped.add(id(node.value))
        elif isinstance(node, ast.Raise) and node.exc is not None:
            skipped.update(id(n) for n in ast.walk(node.exc))
        elif isinstance(node, ast.Assert) and node.msg is not None:
            skipped.update(id(n) for n in ast.walk(node.msg))
        if isinstance(node, ast.JoinedStr):
            skipped.update(id(n) for n in ast.walk(node) if n is not node)
    return skipped


def sentences(source: str) -> list[str]:
    """The sentences a caller could hear that the source writes, in source order."""
    tree = ast.parse(source)
    skipped = _not_for_callers(tree)
    found = []
    for node in ast.walk(tree):
        text = text_of(node)
        if text is not None and id(node) not in skipped and is_sentence(text):
            found.append(text)
    return found


def words_handed_to_prompts(source: str) -> list[str]:
    """String literals of English words passed to a `prompts.` function."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "prompts"
        ):
            continue
        for arg in [*node.args, *(keyword.value for keyword in node.keywords)]:
            text = text_of(arg)
            if text is not None and WORD.search(text):
                found.append(text)
    return found


def callflows_modules() -> list[Path]:
    modules = sorted(CALLFLOWS.rglob("*.py"))
    assert PROMPTS in modules and len(modules) >= 10
    return [path for path in modules if path != PROMPTS]


@pytest.mark.parametrize("path", callflows_modules(), ids=lambda path: path.name)
def test_only_prompts_writes_sentences(path: Path) -> None:
    source = path.read_text()
    assert sentences(source) == [], f"move these into callflows/prompts.py: {path}"
    assert words_handed_to_prompts(source) == [], f"let callflows/prompts.py word these: {path}"


def test_the_check_finds_the_sentences_of_prompts_itself() -> None:
    found = sentences(PROMPTS.read_text())
    assert prompts.GOODBYE not in found  # one word: too short to tell from code
    assert prompts.THANK_YOU in found and prompts.ASK_CONFIRM in found
    assert "Your {block} figures add up to {added}, but your worksheet total is {stated}." in found
    assert len(found) >= 40


@pytest.mark.parametrize(
    "source",
    [
        'SAY = "Thank you."',
        'x = f"Your {block} figures add up to {added}."',
        'x = f"Who won the game of chance? {options}"',
        'x = f"{name} had {count} people of {attendance}, below the {threshold} needed."',
        'x = ("The final total " "cannot be higher.")',
        'x = f"The total is {total}."',
    ],
)
def test_a_sentence_is_found(source: str) -> None:
    assert len(sentences(source)) == 1


@pytest.mark.parametrize(
    "source",
    [
        'CODE = "total_mismatch"',
        'x = f"figure/{block}/{position}"',
        'x = Decimal("0.0001")',
        'x = f"{name}.toml"',
        'x = f"{name}."',
        'x = f"final alignment total {a} > first alignment total {b}"',
        'x = f"{name}: {given} delegate(s) but not viable ({why})"',
        'def f() -> None:\n    """Say what this does. In two sentences."""',
        'LIMIT = 2\n"""Re-prompts after silence. Then the call ends."""',
        'raise ValueError("Head counts must not be negative.")',
        'assert ok, "The chance step is reached only when a game decides."',
    ],
)
def test_code_and_documentation_are_not_sentences(source: str) -> None:
    assert sentences(source) == []


def test_words_handed_to_a_prompt_are_found() -> None:
    source = 'x = prompts.resume_offer("the confirmation", block=f"after {n} figures")'
    assert words_handed_to_prompts(source) == ["the confirmation", "after {} figures"]
    assert words_handed_to_prompts("x = prompts.resume_offer(group, FIRST)") == []


def test_every_block_has_its_spoken_name() -> None:
    names = [prompts.block_name(block) for block in BLOCKS]
    assert names == ["first alignment", "final alignment", "county delegates"]
