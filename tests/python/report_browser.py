"""Opens a report's index.html in headless Chromium and says what a reader
would see go wrong: images that do not load, a page wider than the window
(a horizontal scroll bar), and a table whose first column scrolls away.

The page is copied beside the report's files with a script added that, on
the load event, measures the page and writes the result into the DOM, which
`chromium --headless --dump-dom` prints. No driver or pip package is needed:
only Debian's `chromium`.

    python3 tests/python/report_browser.py REPORT_DIR   # exit 1 on a problem
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

# Window widths the page is checked at: a laptop and a narrow window.
WIDTHS = (1280, 800)

PROBE = """
<script>
window.addEventListener("load", () => {
  const root = document.documentElement;
  const images = [...document.images];
  const result = {
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0))
                  .map(i => i.getAttribute("src")),
    page_width: root.scrollWidth,
    window_width: root.clientWidth,
    wide: [...document.body.children]
            .filter(e => e.getBoundingClientRect().right > root.clientWidth + 0.5)
            .slice(0, 3)
            .map(e => e.tagName.toLowerCase() + " " + (e.textContent || "").slice(0, 40)),
    // Tables that scroll sideways must keep their first column in view.
    unpinned: [...document.querySelectorAll("table")]
            .filter(t => t.scrollWidth > t.clientWidth && t.rows.length)
            .filter(t => {
              t.scrollLeft = 200;
              const cell = t.rows[t.rows.length - 1].cells[0];
              const moved = cell.getBoundingClientRect().left - t.getBoundingClientRect().left;
              t.scrollLeft = 0;
              return Math.abs(moved) > 1.5;
            })
            .map(t => (t.rows[0].textContent || "").slice(0, 40)),
  };
  const out = document.createElement("pre");
  out.id = "sharpsweep-browser-check";
  out.textContent = JSON.stringify(result);
  out.style.display = "none";
  document.body.appendChild(out);
});
</script>
"""

MARK = '<pre id="sharpsweep-browser-check"'


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("no chromium on PATH (Debian: apt-get install chromium)")


def measure(page_dir, page="index.html", width=1280):
    """Loads page_dir/page at `width` pixels; returns the probe's result."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "report")
        shutil.copytree(page_dir, copy)
        with open(os.path.join(copy, page), encoding="utf-8") as f:
            html = f.read()
        at = html.rfind("</body>")
        html = html[:at] + PROBE + html[at:] if at >= 0 else html + PROBE
        probe = os.path.join(copy, "browser-check.html")
        with open(probe, "w", encoding="utf-8") as f:
            f.write(html)
        out = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",  # CI runs as root
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={os.path.join(tmp, 'profile')}",
                f"--window-size={width},900",
                "--virtual-time-budget=10000",
                "--dump-dom",
                "file://" + probe,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    dom = out.stdout
    start = dom.find(MARK)
    if start < 0:
        raise RuntimeError(
            f"chromium did not run the page's check (exit {out.returncode}): "
            f"{out.stderr.strip()[-2000:]}"
        )
    text = dom[dom.index(">", start) + 1 : dom.index("</pre>", start)]
    return json.loads(text.replace("&quot;", '"').replace("&amp;", "&")
                      .replace("&lt;", "<").replace("&gt;", ">"))


def problems(page_dir, page="index.html"):
    """What is wrong with the page at each of WIDTHS (empty: nothing)."""
    found = []
    for width in WIDTHS:
        m = measure(page_dir, page, width)
        for src in m["broken"]:
            found.append(f"{width} px: image {src!r} does not load")
        for table in m["unpinned"]:
            found.append(f"{width} px: the first column of table {table!r} scrolls away")
        if m["page_width"] > m["window_width"]:
            found.append(
                f"{width} px: the page is {m['page_width']} px wide in a "
                f"{m['window_width']} px window (too wide: {m['wide']})"
            )
    return found


if __name__ == "__main__":
    wrong = problems(sys.argv[1])
    for w in wrong:
        print(w, file=sys.stderr)
    sys.exit(1 if wrong else 0)
