"""Small real filesystems for book tests: a tmpfs of a few MB that can be filled up, or mounted read-only.

Mounting needs root (CI runs as root); elsewhere the tests that use these skip with a reason.  Every
mount is undone by its fixture, lazily (``umount -l``) if a test left a file open on it.
"""

from __future__ import annotations

import errno
import os
import subprocess
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

import papernb as pn


def mount_tmpfs(mountpoint: Path, options: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs (CI runs as root)")
    mountpoint.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mountpoint)], check=True)


def umount(mountpoint: Path) -> None:
    if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, check=False)


class SmallDisk:
    """A mounted tmpfs; ``fill()`` takes every free byte, ``free()`` gives it back.

    Engines made with ``engine()`` are closed (errors ignored) before the disk is unmounted.
    """

    def __init__(self, mountpoint: Path) -> None:
        self.dir = mountpoint
        self.filler = mountpoint / "filler"
        self.engines: list[pn.Engine] = []

    def engine(self, name: str = "book.duckdb", **settings: Any) -> pn.Engine:
        book = pn.Engine(str(self.dir / name), **settings)
        self.engines.append(book)
        return book

    def fill(self) -> None:
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for size in (1 << 20, 1 << 16, 4096, 1):
                try:
                    while True:
                        os.write(fd, bytes(size))
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def release(self) -> None:
        self.free()
        for book in self.engines:
            with suppress(Exception):
                book.close()
        umount(self.dir)
