"""The project's Markdown docs (payload contract, facade, model) rendered into the guide's pages.

Raw HTML in the Markdown is escaped, not passed through. Links to other docs become links to their pages;
any other relative link (to a repository file the static site does not carry) is kept as text, so the site
never links to a page it does not have.
"""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt


def doc_page_name(stem: str) -> str:
    return f"doc-{stem}.html"


def render_markdown(text: str, known_docs: set[str]) -> str:
    """HTML for one Markdown document; ``known_docs`` are the doc stems that have pages."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def link_open(renderer: Any, tokens: list[Any], idx: int, options: Any, env: dict[str, Any]) -> str:
        token = tokens[idx]
        target = _rewrite(token.attrGet("href") or "", known_docs)
        if target is None:
            env.setdefault("dropped", set()).add(idx)
            return ""
        token.attrSet("href", target)
        return renderer.renderToken(tokens, idx, options, env)

    def link_close(renderer: Any, tokens: list[Any], idx: int, options: Any, env: dict[str, Any]) -> str:
        if _matching_open(tokens, idx) in env.get("dropped", set()):
            return ""
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("link_close", link_close)
    env: dict[str, Any] = {}
    tokens = md.parse(text, env)
    _add_heading_ids(tokens)
    return md.renderer.render(tokens, md.options, env)


def slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    kept = "".join(ch for ch in text.lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def _add_heading_ids(tokens: list[Any]) -> None:
    """Give headings GitHub's ids, so ``doc.md#section`` links keep working on the pages."""
    seen: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or index + 1 >= len(tokens):
            continue
        base = slug(tokens[index + 1].content)
        count = seen.get(base, 0)
        seen[base] = count + 1
        token.attrSet("id", base if count == 0 else f"{base}-{count}")


def _matching_open(tokens: list[Any], close_idx: int) -> int | None:
    depth = 0
    for idx in range(close_idx - 1, -1, -1):
        if tokens[idx].type == "link_close":
            depth += 1
        elif tokens[idx].type == "link_open":
            if depth == 0:
                return idx
            depth -= 1
    return None


def _rewrite(href: str, known_docs: set[str]) -> str | None:
    if href.startswith(("http://", "https://", "mailto:", "#")):
        return href
    path, _, fragment = href.partition("#")
    name = path.rsplit("/", 1)[-1]
    if name.endswith(".md") and name[:-3] in known_docs:
        return doc_page_name(name[:-3]) + (f"#{fragment}" if fragment else "")
    return None
