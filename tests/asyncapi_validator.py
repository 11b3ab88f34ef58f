"""Validating AsyncAPI documents with the official validator: @asyncapi/parser (which checks a document against the
official AsyncAPI JSON Schema from @asyncapi/specs and resolves every ``$ref``), run by node.

``make asyncapi-validator`` (part of ``make test``) installs it into ``tools/asyncapi/node_modules``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

TOOLS = Path(__file__).resolve().parent.parent / "tools" / "asyncapi"
SCRIPT = TOOLS / "validate.mjs"
VALIDATE_TIMEOUT = 120.0


def require_validator() -> None:
    """Fail under CI (CI=true), skip elsewhere, saying how to install it, when node or the packages are missing."""
    node = shutil.which("node")
    missing = ("node is not installed" if node is None else
               f"{TOOLS / 'node_modules'} is missing" if not (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir()
               else None)
    if missing:
        message = f"the AsyncAPI validator is not installed ({missing}): run `make asyncapi-validator`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def validate(documents: dict[str, dict[str, Any] | str]) -> dict[str, list[dict[str, Any]]]:
    """The errors the official validator finds in each document (an empty list: valid), by name. A document is a
    dict, or its text (YAML or JSON) as a user would download it."""
    require_validator()
    with tempfile.TemporaryDirectory(prefix="asyncapi-") as folder:
        files: dict[str, str] = {}
        for name, document in documents.items():
            path = Path(folder) / (f"{len(files)}.yaml" if isinstance(document, str) else f"{len(files)}.json")
            path.write_text(document if isinstance(document, str) else json.dumps(document))
            files[str(path)] = name
        done = subprocess.run(["node", str(SCRIPT), *files], cwd=TOOLS, capture_output=True, text=True,
                              timeout=VALIDATE_TIMEOUT, check=False)
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if len(results) != len(files):
        raise AssertionError(f"the validator did not report on every document (exit {done.returncode}):\n"
                             f"{done.stdout}\n{done.stderr}")
    return {files[r["file"]]: ([] if r["valid"] else r["errors"] or [{"message": "no document"}]) for r in results}


def assert_valid(documents: dict[str, dict[str, Any] | str]) -> None:
    invalid = {name: errors for name, errors in validate(documents).items() if errors}
    assert invalid == {}, "invalid AsyncAPI documents:\n" + json.dumps(invalid, indent=2)
