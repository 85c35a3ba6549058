"""axe-core (package.json: installed by `make install` and .ci/run with npm) run in a real
page. The site's Content-Security-Policy (script-src 'self') stays in force: axe is the test's
own code, evaluated through the DevTools protocol as Playwright's evaluate() does, which no
page policy governs; a <script> tag added to the page would be refused, as it should be."""

from functools import cache
from pathlib import Path

from conftest import cannot_run

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# What fails a page: axe's own impact levels for WCAG failures that stop people.
BLOCKING = {"serious", "critical"}


@cache
def axe_source() -> str:
    if not AXE.exists():
        cannot_run(f"needs axe-core at {AXE}: `make install` installs it with npm")
    return AXE.read_text()


def violations(page) -> list[dict]:
    """axe's violations on the page as it is now: [{id, impact, nodes: [html...]}]."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    return page.evaluate(
        """async () => {
          const results = await axe.run(document, { resultTypes: ["violations"] });
          return results.violations.map((v) => ({
            id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.html.slice(0, 160)),
          }));
        }"""
    )


def blocking(found: list[dict]) -> list[dict]:
    return [violation for violation in found if violation["impact"] in BLOCKING]
