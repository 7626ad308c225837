"""The README's and docs' relative links lead somewhere: a file in the clone, and for a
``#fragment`` into Markdown, one of its headings (GitHub's anchors: lower case, punctuation
dropped, spaces to hyphens)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def prose(md: Path) -> str:
    """A Markdown file without its fenced code blocks."""
    return re.sub(r"```.*?```", "", md.read_text(encoding="utf-8"), flags=re.S)


def anchors(md: Path) -> set[str]:
    """A file's heading anchors; outside code blocks, a repeated one numbered as GitHub does
    ("-1", "-2")."""
    out: set[str] = set()
    for line in prose(md).splitlines():
        if re.match(r"#{1,6} ", line):
            title = line.lstrip("#").strip().lower()
            slug = base = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
            n = 0
            while slug in out:
                n += 1
                slug = f"{base}-{n}"
            out.add(slug)
    return out


def broken_links() -> list[str]:
    bad = []
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for target in LINK.findall(prose(md)):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, frag = target.partition("#")
            dest = (md.parent / path) if path else md
            if not dest.exists():
                bad.append(f"{md.relative_to(ROOT)}: {target} (no such file)")
            elif frag and dest.suffix == ".md" and frag not in anchors(dest):
                bad.append(f"{md.relative_to(ROOT)}: {target} (no such heading)")
    return bad


def test_every_relative_link_in_the_docs_resolves() -> None:
    assert broken_links() == []


def test_the_check_finds_a_broken_link(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("# Top\n[a](docs/A.md#there) [b](#top) [c](gone.png)\n",
                                        encoding="utf-8")
    (tmp_path / "docs" / "A.md").write_text("# Here\n```\n# there\n```\n", encoding="utf-8")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert broken_links() == ["README.md: docs/A.md#there (no such heading)",
                              "README.md: gone.png (no such file)"]
