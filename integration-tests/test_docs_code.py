"""Every ```python block of the documentation site runs, page by page, against moto.

A page's blocks are joined in order into one script (a later block builds on an earlier
one), as a reader would paste them into one file, and run in an interpreter of its own (a
page may set process-wide state, such as OpenTelemetry's tracer provider). The code reads
its settings the way the pages say: ``DynamoDBConfig.from_env()``, here pointed at a fresh
table of the page's own.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lvrgd_common.testing import IndexSpec, create_table, delete_table

if TYPE_CHECKING:
    from lvrgd_common import DynamoDBConfig

DOCS = Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
# Languages that are shown, not run: shell commands and plain text.
SHOWN_ONLY = {"bash", "sh", "text", "toml", "yaml", "ini", "json"}


def fences(page: Path) -> list[tuple[str, str]]:
    return [(lang, code) for lang, code in FENCE.findall(page.read_text(encoding="utf-8"))]


PAGES = sorted(DOCS.rglob("*.md"))
RUNNABLE = [page for page in PAGES if any(lang == "python" for lang, _ in fences(page))]


def test_every_fence_is_python_or_a_language_shown_only() -> None:
    assert PAGES, f"no pages under {DOCS}"
    for page in PAGES:
        for lang, code in fences(page):
            assert lang in SHOWN_ONLY | {"python"}, f"{page.name}: ```{lang} block {code[:60]!r}"


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda page: page.name)
def test_every_python_block_of_the_page_runs(
    page: Path,
    base_config: DynamoDBConfig,
    backend: str,
    tmp_path: Path,
) -> None:
    if backend != "moto":
        pytest.skip("the documentation's code runs on moto (it uses transactions)")
    settings = base_config.model_copy(update={"table_name": f"docs-{uuid.uuid4().hex[:12]}"})
    secret = settings.aws_secret_access_key
    assert settings.endpoint_url is not None
    env = {
        **os.environ,
        "DYNAMODB_TABLE_NAME": settings.table_name,
        "AWS_REGION": settings.region,
        "DYNAMODB_ENDPOINT_URL": settings.endpoint_url,
        "AWS_ACCESS_KEY_ID": settings.aws_access_key_id or "",
        "AWS_SECRET_ACCESS_KEY": "" if secret is None else secret.get_secret_value(),
    }
    blocks = [code for lang, code in fences(page) if lang == "python"]
    script = tmp_path / f"docs_page_{page.stem.replace('-', '_')}.py"
    script.write_text(
        "".join(f"# --- {page.name}, block {n} ---\n{code}\n" for n, code in enumerate(blocks, 1)),
        encoding="utf-8",
    )
    asyncio.run(
        create_table(
            settings,
            global_indexes=[IndexSpec(name="gsi1", hash_key="gsi1pk", range_key="gsi1sk")],
        )
    )
    try:
        done = subprocess.run(  # noqa: S603 - the project's own documentation
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        asyncio.run(delete_table(settings))
    assert done.returncode == 0, f"{script.name} failed:\n{done.stderr}"
