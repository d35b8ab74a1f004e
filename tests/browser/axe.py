"""Running axe-core's rules in a page the browser tests have open."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

BLOCKING = ("serious", "critical")
"""The impacts a staff page must never have."""


def violations(page: Page, axe_script: str) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical in `page` as it is now, each with
    its rule, impact, help and the elements involved."""
    # Evaluated through the DevTools protocol, which the pages' Content-Security-Policy
    # (scripts from /static only) does not govern, so the page is tested as served.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_script)
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const results = await window.axe.run(document, {resultTypes: ['violations']});
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
            }));
        }"""
    )
    return [violation for violation in found if violation["impact"] in BLOCKING]


def describe(found: list[dict[str, Any]]) -> str:
    """The violations, readably, for an assertion's message."""
    lines = []
    for violation in found:
        lines.append(f"{violation['impact']} {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['summary']}")
    return "\n".join(lines)
