"""The documentation site as a reader gets it: built, browsed from disk, and looked at.

The site is built once (``mkdocs build --strict``, as ``make docs-build``). The API
reference must render its examples as code (not as nested blockquotes of flattened prose),
give every public method with parameters a table of them, and link page to page as files,
so that the site reads from ``file://``. With Debian's ``chromium`` present, three pages
are photographed in headless Chromium at 1280 px into ``build/screenshots/``.
"""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lvrgd_common import DynamoDBService
from lvrgd_common.sync import DynamoDBService as SyncDynamoDBService

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "build" / "screenshots"
SHOTS = {
    "reference-service": "reference/service.html",
    "testing-guide": "testing.html",
    "errors-guide": "errors.html",
}
HEADING = re.compile(r'<h\d id="([\w.]+)" class="doc doc-heading">')
HREF = re.compile(r'href="([^"#:]*)(#[^"]*)?"')
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = tmp_path_factory.mktemp("site")
    result = subprocess.run(  # noqa: S603 - the running interpreter's mkdocs
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(built)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr
    return built


def sections(page: str) -> dict[str, str]:
    """Each documented object's id -> its HTML, up to the next object's heading."""
    marks = list(HEADING.finditer(page))
    ends = [mark.start() for mark in marks[1:]] + [len(page)]
    return {mark.group(1): page[mark.start() : end] for mark, end in zip(marks, ends, strict=True)}


def public_methods(service: type) -> dict[str, list[str]]:
    """Public method name -> its parameters (without self), for methods that take any."""
    methods: dict[str, list[str]] = {}
    for name, member in inspect.getmembers(service, inspect.isfunction):
        if name.startswith("_"):
            continue
        parameters = [p for p in inspect.signature(member).parameters if p != "self"]
        if parameters:
            methods[name] = parameters
    return methods


def test_reference_examples_are_code_not_blockquotes(site: Path) -> None:
    pages = sorted((site / "reference").glob("*.html"))
    assert len(pages) >= 5
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<blockquote" not in html, f"{page.name}: a blockquote (an example as prose?)"
        assert '<details class="example"' not in html or "&gt;&gt;&gt;" not in html, page.name
    service = (site / "reference" / "service.html").read_text(encoding="utf-8")
    example = sections(service)["lvrgd_common.DynamoDBService"]
    assert 'class="highlight"' in example
    assert "Examples:" in example


@pytest.mark.parametrize(
    ("page", "prefix", "service"),
    [
        ("service.html", "lvrgd_common.DynamoDBService", DynamoDBService),
        ("sync.html", "lvrgd_common.sync.DynamoDBService", SyncDynamoDBService),
    ],
)
def test_every_public_method_has_its_parameter_table(
    site: Path, page: str, prefix: str, service: type
) -> None:
    documented = sections((site / "reference" / page).read_text(encoding="utf-8"))
    methods = public_methods(service)
    assert {"save", "query_by_pk", "scan", "count", "transact_write"} <= set(methods)
    for name, parameters in methods.items():
        section = documented.get(f"{prefix}.{name}")
        assert section is not None, f"{page}: {name} is not documented"
        assert "Parameters:" in section, f"{page}: {name} has no parameter table"
        table = section[section.index("Parameters:") :]
        for parameter in parameters:
            assert f"<code>{parameter}</code>" in table, f"{page}: {name}({parameter}) missing"


def test_count_says_what_it_raises(site: Path) -> None:
    documented = sections((site / "reference" / "service.html").read_text(encoding="utf-8"))
    assert "Raises:" in documented["lvrgd_common.DynamoDBService.count"]


def test_the_site_links_page_to_page_as_files(site: Path) -> None:
    """``use_directory_urls: false``: under file:// a link to a folder opens a listing."""
    for page in sorted(site.rglob("*.html")):
        for target, _anchor in HREF.findall(page.read_text(encoding="utf-8")):
            if target and not target.startswith(("http", "mailto")) and "." not in target[-6:]:
                pytest.fail(f"{page.relative_to(site)} links to {target!r}, a folder")


def test_screenshots_in_headless_chromium(site: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, page in SHOTS.items():
        target = SCREENSHOTS / f"{name}.png"
        target.unlink(missing_ok=True)
        subprocess.run(  # noqa: S603 - a fixed command on the built site
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1280,2400",
                f"--screenshot={target}",
                (site / page).as_uri(),
            ],
            capture_output=True,
            check=True,
            timeout=300,
        )
        assert target.read_bytes()[:8] == PNG, f"{target} is not a PNG"
        assert target.stat().st_size > 20_000, f"{target} looks blank"
