"""Check the built HTML book: every chapter page has its figures, typeset-ready
math with MathJax served from the build (offline), the Colab button for its own
notebook, and no visible solution.

    python tools/check_book.py _build/html
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import yaml  # noqa: E402
from notebook_policy import toc_files  # noqa: E402


def colab_url(chapter: str) -> str:
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = cfg["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
    return (
        f"{cfg['launch_buttons']['colab_url'].rstrip('/')}/github/{repo}/blob/"
        f"{cfg['repository']['branch']}/{chapter}.ipynb"
    )


def problems(html_dir: Path) -> list[str]:
    out = []
    if not (html_dir / "_static" / "mathjax" / "tex-chtml.js").is_file():
        out.append(
            "_static/mathjax/tex-chtml.js missing: math would not render offline"
        )
    for entry in toc_files():
        if not entry.startswith("chapters/"):
            continue
        page = html_dir / f"{entry}.html"
        if not page.exists():
            out.append(f"{page}: missing")
            continue
        html = page.read_text()
        images = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
        figures = [src for src in images if "_images/" in src]
        if not figures:
            out.append(f"{page.name}: no figures")
        for src in figures:
            f = (page.parent / src).resolve()
            if not f.exists() or f.stat().st_size < 1000:
                out.append(f"{page.name}: figure {src} missing or empty")
        if 'class="math' not in html:
            out.append(f"{page.name}: no math markup")
        if 'src="../_static/mathjax/tex-chtml.js"' not in html:
            out.append(
                f"{page.name}: MathJax is not served from the build (offline math)"
            )
        if colab_url(entry) not in html:
            out.append(f"{page.name}: no Colab link to {colab_url(entry)}")
        text = re.sub(r"<(pre|script|style)\b.*?</\1>", "", html, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", text)
        if (
            "$" in text
        ):  # a math delimiter the parser did not take (e.g. $$ inside a paragraph)
            i = text.index("$")
            out.append(
                f"{page.name}: unparsed math near {text[max(0, i - 40) : i + 40]!r}"
            )
        remote = re.findall(r'<script[^>]+src="(https?://[^"]+)"', html)
        if remote:
            out.append(f"{page.name}: loads scripts from the network: {remote}")
        if re.search(r'class="[^"]*solution', html):
            out.append(f"{page.name}: a solution is visible")
        if "Traceback" in html or "Error</span>" in html:
            out.append(f"{page.name}: shows an error")
    return out


if __name__ == "__main__":
    found = problems(Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html"))
    for p in found:
        print(p)
    print(f"book check: {'FAILED' if found else 'ok'} ({len(found)} problems)")
    sys.exit(1 if found else 0)
