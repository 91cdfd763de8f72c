"""`make mutate-hand`: break the source in ways the tests must notice, one breakage at a time.

`make mutate` runs mutmut over the core modules first (tools/mutation.py); this list keeps
what mutmut's operators do not make: a statement deleted, one variable put for another, a
condition forced so that a path is or is not taken, and code outside the core modules
(dynamodb_service.py).

The work happens in a temporary copy of the project (``src``, the tests, ``pyproject.toml``),
imported first through ``PYTHONPATH``, so the working tree is never touched. Each mutation
replaces one exact piece of ``src/`` (which must occur exactly once), runs the tests meant
to catch it, and restores the file. A mutation is *killed* when those tests fail; one that
survives means the suite would let that breakage through. Before any mutation, the same
tests must pass on the untouched copy.

Usage: ``python tools/mutate.py [NAME_SUBSTRING ...]``; exit status 1 when any survives.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("src", "tests", "integration-tests", "examples", "pyproject.toml")
SRC = Path("src") / "lvrgd_common" / "services"
SENDS = "tests/test_batches_and_queries_send_what_they_should.py"
FAST_PATH = "integration-tests/test_fast_path_taken.py"
STORED_FORM = (
    "tests/test_updates.py",
    "integration-tests/test_stored_form.py",
    "integration-tests/test_stored_form_property.py",
)
AMBIGUOUS = "integration-tests/test_ambiguous_writes.py"
ANSWERS = "tests/test_answers_checked.py"


@dataclass(frozen=True)
class Mutation:
    """Replace ``old`` by ``new`` in ``path``; ``tests`` must then fail."""

    name: str
    path: Path
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = (
    Mutation(
        "a retry re-sends the whole chunk",
        SRC / "_dynamodb" / "batching.py",
        "pending = await send(pending)",
        "pending = await send(entries)",
        (SENDS,),
    ),
    Mutation(
        "a chunk failing outright reports every item failed",
        SRC / "_dynamodb" / "batching.py",
        "return ChunkOutcome(pending, exc)",
        "return ChunkOutcome(entries, exc)",
        (SENDS,),
    ),
    Mutation(
        "failed_items names an earlier duplicate",
        SRC / "dynamodb_service.py",
        "originals[key] = item",
        "originals.setdefault(key, item)",
        (SENDS,),
    ),
    Mutation(
        "the backoff delay is 0",
        SRC / "_dynamodb" / "batching.py",
        "return random.uniform(0, min(self.cap, self.base * 2**retry))",
        "return 0.0",
        (SENDS,),
    ),
    Mutation(
        "the backoff is not waited",
        SRC / "_dynamodb" / "batching.py",
        "await sleep(delay)",
        "await sleep(0)",
        (SENDS,),
    ),
    Mutation(
        "a page over-fetches",
        SRC / "dynamodb_service.py",
        "total = None if limit is None else limit + 1",
        "total = None if limit is None else limit + 50",
        (SENDS,),
    ),
    Mutation(
        "ConsistentRead is dropped from queries",
        SRC / "_dynamodb" / "requests.py",
        '            raise InvalidInputError(msg)\n        request["ConsistentRead"] = True\n',
        "            raise InvalidInputError(msg)\n",
        (SENDS,),
    ),
    Mutation(
        "the serializer swap is dropped",
        SRC / "_dynamodb" / "transport" / "tuning.py",
        "client._serializer = PassThroughSerializer()",
        "pass  # client._serializer = PassThroughSerializer()",
        (FAST_PATH,),
    ),
    Mutation(
        "wire.py: the serializer's map override is dropped",
        SRC / "_dynamodb" / "transport" / "wire.py",
        "        if _holds_attribute_values(shape) and all(json_ready(v) for v in value.values()):",
        "        if False:",
        (FAST_PATH,),
    ),
    Mutation(
        "wire.py: the serializer's structure override is dropped",
        SRC / "_dynamodb" / "transport" / "wire.py",
        "if key is not None and shape.name == _ATTRIBUTE_VALUE and json_ready(value):",
        "if False:",
        (FAST_PATH,),
    ),
    Mutation(
        "wire.py: the parser's map override is dropped",
        SRC / "_dynamodb" / "transport" / "wire.py",
        "if _holds_attribute_values(shape) and isinstance(value, dict):\n            return value",
        "if False:\n            return value",
        (FAST_PATH,),
    ),
    Mutation(
        "fast_path=True still sends through the aioboto3 client",
        SRC / "_dynamodb" / "transport" / "base.py",
        "    if not config.fast_path or opened.account_routed:\n",
        "    if True:\n",
        ("integration-tests/test_transport.py",),
    ),
    Mutation(
        "the lean path hands batch writes to the aioboto3 client",
        SRC / "_dynamodb" / "apis.py",
        'Api("batch_write_item", "BatchWriteItem", lean=True,',
        'Api("batch_write_item", "BatchWriteItem", lean=False,',
        ("tests/test_lean_transport.py",),
    ),
    Mutation(
        "the HTTP client reuses a connection the server asked to close",
        SRC / "_dynamodb" / "transport" / "http11.py",
        'if headers.get("connection", "").lower() == "close"',
        "if False",
        ("tests/test_http11.py",),
    ),
    Mutation(
        "a cancelled request leaves its connection to the next one",
        SRC / "_dynamodb" / "transport" / "http11.py",
        "                self._open.discard(connection)\n                connection.close()\n"
        "                raise",
        "                self._idle.append(connection)\n                raise",
        ("tests/test_http11.py",),
    ),
    Mutation(
        "the HTTP client opens more connections than max_pool_connections",
        SRC / "_dynamodb" / "transport" / "http11.py",
        "self._slots = asyncio.Semaphore(limit)",
        "self._slots = asyncio.Semaphore(limit + 10)",
        ("tests/test_http11.py",),
    ),
    Mutation(
        "open() fails without aclose()",
        SRC / "_dynamodb" / "transport" / "client.py",
        '        await stack.aclose()\n        raise translate_error(exc, "open") from exc',
        '        raise translate_error(exc, "open") from exc',
        ("tests/test_redaction.py",),
    ),
    Mutation(
        "close() does not wait for running operations",
        SRC / "dynamodb_service.py",
        "await self._gate.wait_idle(self._timeout)",
        "self._gate.closing = True",
        ("integration-tests/test_lifecycle.py",),
    ),
    Mutation(
        "operation_timeout is not applied",
        SRC / "dynamodb_service.py",
        "scope = asyncio.timeout(remaining)",
        "scope = asyncio.timeout(None)",
        ("tests/test_deadlines.py",),
    ),
    Mutation(
        "a failed scan segment ends as if it were done (issue 27)",
        SRC / "_dynamodb" / "scanning.py",
        "await queue.put(exc)",
        "await queue.put(_DONE)",
        ("tests/test_mutation_gaps.py", "integration-tests/test_mutation_gaps.py"),
    ),
    Mutation(
        "a failed sync open() leaves its loop thread running (issue 27)",
        Path("src") / "lvrgd_common" / "sync.py",
        "                    _stop(loop, thread)\n                    raise",
        "                    raise",
        ("tests/test_mutation_gaps.py", "integration-tests/test_mutation_gaps.py"),
    ),
    Mutation(
        "a cancelled operation logs nothing",
        SRC / "_dynamodb" / "operation.py",
        'self.logger.info("dynamodb operation", outcome="cancelled", **fields)',
        "pass",
        ("integration-tests/test_observability.py",),
    ),
    # --- the one stored form (issue 20): each path the property tests must hold ---------
    Mutation(
        "update skips the model's own validators",
        SRC / "_dynamodb" / "codec" / "encode.py",
        "_assign(instance, field, stored, value, shape.stored)",
        "instance.__dict__[field] = value",
        STORED_FORM,
    ),
    Mutation(
        "update skips the field's serializer",
        SRC / "_dynamodb" / "codec" / "encode.py",
        "dumped = instance.model_dump(include={field}, by_alias=True, warnings=False)",
        "dumped = {} if model_class.model_fields[field].exclude else {stored: value}",
        STORED_FORM,
    ),
    Mutation(
        "update writes a field marked exclude=True",
        SRC / "_dynamodb" / "updates.py",
        "if info.exclude is True:",
        "if False:",
        STORED_FORM,
    ),
    Mutation(
        "an aware datetime keeps its own offset",
        SRC / "_dynamodb" / "codec" / "encode.py",
        "if tzinfo is not None and tzinfo is not dt.UTC:",
        "if tzinfo is not None and tzinfo is dt.UTC:",
        STORED_FORM,
    ),
    Mutation(
        "EpochSeconds numbers are left to pydantic's milliseconds guess",
        Path("src") / "lvrgd_common" / "models" / "epoch_seconds.py",
        "        BeforeValidator(_from_seconds),\n",
        "",
        STORED_FORM,
    ),
    Mutation(
        "condition values are encoded by their Python type",
        SRC / "_dynamodb" / "expressions.py",
        "compared = _compared_fields(expression) if self._model is not None else {}",
        "compared: dict[str, str] = {}",
        STORED_FORM,
    ),
    Mutation(
        "the version is checked under the field's name, not its stored name",
        SRC / "_dynamodb" / "updates.py",
        "return shape_of(model_class).stored[VERSION_FIELD]",
        "return VERSION_FIELD",
        STORED_FORM,
    ),
    Mutation(
        "an alias generator's key names are stored beside the table's",
        SRC / "_dynamodb" / "keys.py",
        "        for name in model_names:\n",
        "        for name in DEFAULT_NAMES if not self.is_default else ():\n",
        STORED_FORM,
    ),
    Mutation(
        "an Increment's bounds are not guarded",
        SRC / "_dynamodb" / "requests.py",
        "required += builder.guards(changes)",
        "required += []",
        STORED_FORM,
    ),
    Mutation(
        "a 5xx counts as an answer that applied nothing",
        SRC / "_dynamodb" / "transport" / "answers.py",
        "return status >= HTTPStatus.INTERNAL_SERVER_ERROR",
        "return False",
        (AMBIGUOUS,),
    ),
    Mutation(
        "a connection dropped after sending counts as not sent",
        SRC / "_dynamodb" / "transport" / "answers.py",
        "in _SERVER_FAULTS\n    return True",
        "in _SERVER_FAULTS\n    return False",
        (AMBIGUOUS,),
    ),
    Mutation(
        "an Increment is retried after a lost answer",
        SRC / "dynamodb_service.py",
        "idempotent=not accumulates(updates)",
        "idempotent=True",
        (AMBIGUOUS,),
    ),
    Mutation(
        "a condition failing after a lost answer is a conflict",
        SRC / "_dynamodb" / "transport" / "answers.py",
        "if self.in_doubt and is_condition_failure(failure):",
        "if False:",
        (AMBIGUOUS,),
    ),
    Mutation(
        "transact_write makes no token of its own",
        SRC / "dynamodb_service.py",
        "token = str(uuid.uuid4()) if client_request_token is None else client_request_token",
        "token = client_request_token",
        (AMBIGUOUS,),
    ),
    Mutation(
        "a body that is not JSON reads as an empty answer",
        SRC / "_dynamodb" / "transport" / "answers.py",
        '        problem = "an empty body" if not body.strip() else "a body that is not JSON"\n',
        "        return {}\n",
        (ANSWERS,),
    ),
    Mutation(
        "the crc32 is not checked",
        SRC / "_dynamodb" / "transport" / "answers.py",
        'checksum = headers.get("x-amz-crc32")',
        "checksum = None",
        (ANSWERS,),
    ),
    Mutation(
        "the aioboto3 client's answers are not judged",
        SRC / "_dynamodb" / "transport" / "client_hooks.py",
        '    events.register("before-parse.dynamodb", _judge_answer)\n',
        "",
        (ANSWERS,),
    ),
    Mutation(
        "the aioboto3 client keeps aiobotocore's TLS context",
        SRC / "_dynamodb" / "transport" / "client.py",
        "        http_session_cls=session_class,\n",
        "",
        ("tests/test_tls.py",),
    ),
)


def run(copy: Path, command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in the copy, importing the copy's ``lvrgd_common`` first."""
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        command, cwd=copy, env=env, capture_output=True, text=True, check=False
    )


def run_tests(copy: Path, tests: tuple[str, ...], *, show: bool = False) -> bool:
    """Whether the tests pass (moto for the integration ones); ``show`` prints a failure."""
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    if any(test.startswith("integration-tests") for test in tests):
        command += ["--backend", "moto"]
    done = run(copy, command)
    if show and done.returncode:
        print(done.stdout[-3000:], done.stderr[-2000:])
    return done.returncode == 0


def mutated(copy: Path, mutation: Mutation) -> bool:
    """Apply the mutation, run its tests, restore the file; whether the tests still pass."""
    path = copy / mutation.path
    original = path.read_text()
    found = original.count(mutation.old)
    if found != 1:
        msg = f"{mutation.name}: the text to mutate occurs {found} times in {mutation.path}"
        raise SystemExit(msg)
    try:
        path.write_text(original.replace(mutation.old, mutation.new))
        return run_tests(copy, mutation.tests)
    finally:
        path.write_text(original)


def make_copy(into: Path) -> Path:
    """Copy what the tests need into ``into`` and check that the copy is what imports."""
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, into / name)
    probe = run(into, [sys.executable, "-c", "import lvrgd_common; print(lvrgd_common.__file__)"])
    if not probe.stdout.startswith(str(into)):
        msg = f"the copy is not what imports: {probe.stdout or probe.stderr}"
        raise SystemExit(msg)
    return into


def main(selected: list[str]) -> int:
    """Run every mutation (or those whose name contains one of ``selected``)."""
    chosen = [m for m in MUTATIONS if not selected or any(s in m.name for s in selected)]
    with tempfile.TemporaryDirectory(prefix="lvrgd-mutate-") as tmp:
        return mutate_all(make_copy(Path(tmp)), chosen)


def mutate_all(copy: Path, chosen: list[Mutation]) -> int:
    """The baseline, then each mutation; 1 when any survives."""
    tests = tuple(dict.fromkeys(test for m in chosen for test in m.tests))
    print(f"baseline: {len(tests)} test files must pass on the untouched source ...", flush=True)
    if not run_tests(copy, tests, show=True):
        print("FAILED: the tests fail without any mutation; fix them first")
        return 1
    survivors = []
    for mutation in chosen:
        started = time.monotonic()
        survived = mutated(copy, mutation)
        verdict = "SURVIVED" if survived else "killed"
        print(f"{verdict:>8}  {mutation.name}  ({time.monotonic() - started:.0f} s)", flush=True)
        if survived:
            survivors.append(mutation.name)
    print(f"{len(chosen) - len(survivors)} of {len(chosen)} mutations killed")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
