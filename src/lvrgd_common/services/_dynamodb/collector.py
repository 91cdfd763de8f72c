"""Python's cyclic garbage collector held off while a response is parsed and decoded.

A page of 100 items parses into a few thousand dicts and strings that live for a
millisecond: the codec turns them into models and drops them. Each 700 allocations the
collector scans the young objects anyway, finds them all alive, and moves them to an older
generation, where later scans (a full one walks every object of the process) meet them
again. In a 5,000-key ``batch_get`` that scanning was about a third of the client's CPU.

`collector_paused` disables the collector for one stretch of code that does not await (no
other task runs meanwhile) and enables it again after, unless the application had it
disabled itself. Nothing is leaked: the objects the stretch drops are freed by reference
counting as usual, and those it keeps are collected later like any others.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold the collector off for the block (a block without ``await``)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
