"""Opening a book never shows a raw DuckDB or Python error, and never changes a file it cannot use.

Each scenario is a real file: a book cut short, random bytes, a DuckDB file of some other program,
a book from a newer papernb, a read-only filesystem (a tmpfs mounted ``ro``: root ignores chmod),
a path under a regular file, a full disk.  Each must raise a ``pn.BookError`` naming the path;
``pn.BookUnreadable`` for what is not (or no longer) a readable papernb book, which is then left
byte for byte as it was.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import papernb as pn

from ._disks import SmallDisk, mount_tmpfs, umount
from .conftest import T0


def _a_book(path: Path) -> bytes:
    book = pn.Engine(str(path), review_seconds=0)
    acct = book.account("alice")
    book.on_quote(pn.Quote("AAPL", bid="189.90", ask="190.10", ts=T0))
    acct.buy("AAPL", 10)
    acct.buy("AAPL", 5, limit="189.00", tif="gtc")
    book.close()
    return path.read_bytes()


def _only(path: Path) -> list[str]:
    """The names in ``path``'s directory: nothing written beside it (a stray .wal would be replayed
    into the file by the next program that opens it)."""
    return sorted(os.listdir(path.parent))


def _refused(path: Path, expected: type[pn.BookError]) -> pn.BookError:
    """Open ``path``: it must raise ``expected`` naming the path, and nothing that is not a PaperError."""
    try:
        book = pn.Engine(str(path))
    except pn.PaperError as e:
        assert isinstance(e, expected), f"expected {expected.__name__}, got {type(e).__name__}: {e}"
        assert str(path) in str(e), str(e)
        assert e.path == str(path)
        return e
    except Exception as e:
        raise AssertionError(f"opening {path} raised a raw {type(e).__module__}.{type(e).__name__}: {e}") from e
    book.close()
    raise AssertionError(f"{path} opened as a book")


# ---------------------------------------------------------------------------------------------------
# not (or no longer) a papernb book: BookUnreadable, and the file untouched


@pytest.mark.parametrize("keep", ["half", "first_block"])
def test_opening_a_truncated_book_raises_book_unreadable_and_leaves_the_file_unchanged(
        tmp_path: Path, keep: str) -> None:
    path = tmp_path / "book.duckdb"
    whole = _a_book(path)
    cut = whole[:len(whole) // 2] if keep == "half" else whole[:4096]
    path.write_bytes(cut)

    _refused(path, pn.BookUnreadable)

    assert path.read_bytes() == cut
    assert _only(path) == [path.name]


def test_opening_a_file_of_random_bytes_raises_book_unreadable_and_leaves_the_file_unchanged(
        tmp_path: Path) -> None:
    path = tmp_path / "book.duckdb"
    junk = os.urandom(300_000)
    path.write_bytes(junk)

    _refused(path, pn.BookUnreadable)

    assert path.read_bytes() == junk
    assert _only(path) == [path.name]


def test_opening_a_duckdb_file_of_another_program_raises_book_unreadable_and_leaves_it_unchanged(
        tmp_path: Path) -> None:
    path = tmp_path / "prices.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE prices (symbol VARCHAR, ts BIGINT, price DOUBLE)")
    con.execute("INSERT INTO prices VALUES ('AAPL', 1, 190.0)")
    con.close()
    before = path.read_bytes()

    _refused(path, pn.BookUnreadable)

    assert path.read_bytes() == before
    assert _only(path) == [path.name]
    con = duckdb.connect(str(path), read_only=True)
    assert [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()] == ["prices"]
    con.close()


def test_opening_a_book_from_a_newer_papernb_raises_book_unreadable_and_leaves_it_unchanged(
        tmp_path: Path) -> None:
    path = tmp_path / "book.duckdb"
    _a_book(path)
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    before = path.read_bytes()

    e = _refused(path, pn.BookUnreadable)

    assert "newer papernb" in str(e)
    assert path.read_bytes() == before
    assert _only(path) == [path.name]


# ---------------------------------------------------------------------------------------------------
# nowhere to write: BookError naming the path


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A read-only filesystem holding one book (a tmpfs, written, then remounted ``ro``)."""
    mnt = tmp_path / "read-only"
    mount_tmpfs(mnt, "size=8m")
    try:
        _a_book(mnt / "existing.duckdb")
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        yield mnt
    finally:
        umount(mnt)


@pytest.mark.parametrize("name", ["new.duckdb", "sub/new.duckdb", "existing.duckdb"])
def test_opening_a_book_on_a_read_only_filesystem_raises_book_error(read_only_dir: Path, name: str) -> None:
    path = read_only_dir / name

    _refused(path, pn.BookError)

    assert sorted(p.name for p in read_only_dir.iterdir()) == ["existing.duckdb"]


def test_opening_a_book_under_a_regular_file_raises_book_error(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("not a directory\n")
    path = tmp_path / "file.txt" / "book.duckdb"

    _refused(path, pn.BookError)

    assert (tmp_path / "file.txt").read_text() == "not a directory\n"


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    mnt = tmp_path / "full-disk"
    mount_tmpfs(mnt, "size=3m")
    d = SmallDisk(mnt)
    try:
        d.fill()
        yield d
    finally:
        d.release()


def test_creating_a_book_on_a_full_disk_raises_book_error(full_disk: SmallDisk) -> None:
    path = full_disk.dir / "book.duckdb"

    e = _refused(path, pn.BookError)

    assert "no space left on device" in str(e).lower()


def test_a_book_refused_on_a_full_disk_can_be_created_once_there_is_space(full_disk: SmallDisk) -> None:
    """The refused attempt must not leave a half-made file that stands in the way of the book later."""
    path = full_disk.dir / "book.duckdb"
    with pytest.raises(pn.PaperError):
        pn.Engine(str(path))
    full_disk.free()

    book = pn.Engine(str(path))
    book.account("alice")
    book.close()

    again = pn.Engine(str(path))
    assert again.accounts() == ["alice"]
    again.close()
