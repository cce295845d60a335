"""Reading uploaded zips without trusting them: the I/O half of ``domain.archive``.

``zipfile`` trusts what an archive declares. Here every read is bounded by the limits, not
by the archive's headers: member data is inflated in small chunks and must be exactly as
long as declared, match its CRC, and end where the deflate stream ends; the layout must
be entry after entry with nothing overlapping, prepended or hidden between them (readers
that walk local headers would otherwise see other files than the central directory
lists), and no entry may carry a second name in a Unicode extra field, in either header.
Every member's bytes are sniffed for archives and native programs hiding under an allowed
name (``domain.archive.check_member_content``). Every refusal is an ``ArchiveRejected``
with a stable code.
"""

import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from domain.archive import (
    ENCRYPTION_FLAGS,
    SNIFF_HEAD_BYTES,
    SNIFF_TAIL_BYTES,
    SUPPORTED_COMPRESSION,
    ZIP_DEFLATED,
    ZIP_STORED,
    ArchiveLimits,
    ArchiveProblem,
    ArchiveRejected,
    ArchiveSummary,
    EntryInfo,
    check_extra_fields,
    check_member_content,
    extra_field_ids,
)

CHUNK = 64 * 1024
CENTRAL_BYTES_PER_ENTRY = 1024
"""Room a central directory may take per allowed entry, checked before ``zipfile`` loads
it all into memory."""

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_END_RECORD = struct.Struct("<4s4H2LH")
_END_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_ZIP64_END_SIGNATURE = b"PK\x06\x06"
_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"
_FLAG_DATA_DESCRIPTOR = 0x08
_FLAG_UTF8 = 0x800
_PARSE_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    OverflowError,
    NotImplementedError,
)
"""What ``zipfile`` raises on a malformed archive (UnicodeDecodeError is a ValueError)."""


def read_entries(path: Path, limits: ArchiveLimits | None = None) -> list[EntryInfo]:
    """The central directory of the zip at ``path``, as ``domain.archive`` needs it.

    ``not_a_zip`` when the file is not a zip at all, ``corrupt_archive`` when it starts
    like one but its directory is truncated or garbled, ``too_many_entries`` when the end
    record announces more entries (or a larger directory) than ``limits`` allow, before
    anything is loaded. Every function here opens the archive this way.
    """
    with _open(path, limits) as (archive, _):
        return [
            EntryInfo(
                name=info.orig_filename,  # before zipfile cuts it at a NUL
                is_dir=info.is_dir(),
                file_size=info.file_size,
                compress_size=info.compress_size,
                flag_bits=info.flag_bits,
                external_attr=info.external_attr,
                create_system=info.create_system,
                compress_type=info.compress_type,
                extra_ids=extra_field_ids(info.orig_filename, info.extra),
            )
            for info in archive.infolist()
        ]


def _declared_directory(handle: BinaryIO) -> tuple[int, int] | None:
    """Entry count and directory size from the end record (the Zip64 one when present),
    found the way ``zipfile`` finds them, so both read the same numbers."""
    end = handle.seek(0, os.SEEK_END)
    if end < _END_RECORD.size:
        return None
    handle.seek(end - _END_RECORD.size)
    last = handle.read(_END_RECORD.size)
    if last[:4] == _END_SIGNATURE and last[-2:] == b"\0\0":
        record_at = end - _END_RECORD.size
    else:
        tail_start = max(0, end - _END_RECORD.size - 0xFFFF)
        handle.seek(tail_start)
        position = handle.read().rfind(_END_SIGNATURE)
        if position < 0 or end - (tail_start + position) < _END_RECORD.size:
            return None
        record_at = tail_start + position
    handle.seek(record_at)
    record = _END_RECORD.unpack(handle.read(_END_RECORD.size))
    locator_at = record_at - _ZIP64_LOCATOR.size
    if locator_at >= 0:
        handle.seek(locator_at)
        locator = _ZIP64_LOCATOR.unpack(handle.read(_ZIP64_LOCATOR.size))
        if locator[0] == _ZIP64_LOCATOR_SIGNATURE:
            handle.seek(locator_at - _ZIP64_END.size)
            zip64 = _ZIP64_END.unpack(handle.read(_ZIP64_END.size))
            if zip64[0] != _ZIP64_END_SIGNATURE:
                return None
            return zip64[7], zip64[8]  # entries on all disks, directory size
    return record[4], record[5]


def read_member(
    path: Path, name: str, max_bytes: int, limits: ArchiveLimits | None = None
) -> bytes:
    """The content of one file entry, never reading more than ``max_bytes`` of it,
    whatever its header says; ``member_missing`` / ``member_too_large`` otherwise."""
    with _open(path, limits) as (archive, handle):
        matches = [info for info in archive.infolist() if info.orig_filename == name]
        if len(matches) > 1:
            raise ArchiveRejected(
                ArchiveProblem.DUPLICATE_ENTRY, f"{name!r} appears more than once"
            )
        if not matches or matches[0].is_dir():
            raise ArchiveRejected(
                ArchiveProblem.MEMBER_MISSING, f"the archive has no file {name!r}"
            )
        info = matches[0]
        if info.file_size > max_bytes:
            raise ArchiveRejected(
                ArchiveProblem.MEMBER_TOO_LARGE,
                f"{name!r} is {info.file_size} bytes, more than {max_bytes}",
            )
        return b"".join(_member_data(handle, info))


def verify_crcs(
    path: Path,
    limits: ArchiveLimits,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Read every member to its end and check it against its declarations.

    At most ``limits.max_total_uncompressed`` bytes are inflated in all, in chunks of
    ``CHUNK``, so a lying header costs time bounded by the limit and no memory.
    ``on_progress`` gets the running total after each member (to heartbeat).
    """
    with _open(path, limits) as (archive, handle):
        infos = archive.infolist()
        _check_layout(handle, infos, archive.start_dir)
        total = 0
        for info in infos:
            head = bytearray()
            tail = bytearray()
            for chunk in _member_data(handle, info):
                total += len(chunk)
                if total > limits.max_total_uncompressed:
                    raise ArchiveRejected(
                        ArchiveProblem.TOO_LARGE_UNCOMPRESSED,
                        f"the archive unpacks to more than {limits.max_total_uncompressed} bytes",
                    )
                if len(head) < SNIFF_HEAD_BYTES:
                    head += chunk[: SNIFF_HEAD_BYTES - len(head)]
                tail += chunk
                if len(tail) > 2 * SNIFF_TAIL_BYTES:
                    del tail[:-SNIFF_TAIL_BYTES]
            if not info.is_dir():
                check_member_content(info.orig_filename, bytes(head), bytes(tail))
            if on_progress is not None:
                on_progress(total)


def extract_python_files(
    path: Path, summary: ArchiveSummary, dest: Path, limits: ArchiveLimits | None = None
) -> list[Path]:
    """Write the archive's ``.py`` files (``summary.python_files``, from ``check_entries``)
    under ``dest``, keeping their paths, for the code scan. Nothing else is written:
    no folders but their parents, no links, no file outside ``dest``, none overwritten."""
    root = dest.resolve()
    written: list[Path] = []
    with _open(path, limits) as (archive, handle):
        by_name = {info.orig_filename: info for info in archive.infolist()}
        for name in summary.python_files:
            info = by_name.get(name)
            if info is None or info.is_dir():
                raise ArchiveRejected(
                    ArchiveProblem.MEMBER_MISSING, f"the archive has no file {name!r}"
                )
            target = root.joinpath(*name.split("/"))
            if not target.resolve().is_relative_to(root):
                raise ArchiveRejected(ArchiveProblem.PATH_TRAVERSAL, f"{name!r} leaves its folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.parent.resolve().is_relative_to(root):
                raise ArchiveRejected(ArchiveProblem.PATH_TRAVERSAL, f"{name!r} leaves its folder")
            with open(target, "xb") as out:  # exclusive: never follows or replaces a file
                for chunk in _member_data(handle, info):
                    out.write(chunk)
            written.append(target)
    return written


@contextmanager
def _open(path: Path, limits: ArchiveLimits | None) -> Iterator[tuple[zipfile.ZipFile, BinaryIO]]:
    """The archive's directory (via ``zipfile``) and a raw handle on the same bytes.

    The end record is read first, so a directory larger than the limits allow is refused
    before ``zipfile`` loads it (it keeps every entry in memory).
    """
    limits = limits or ArchiveLimits()
    with open(path, "rb") as handle:  # a missing file is our problem, not the archive's
        looks_like_zip = handle.read(4) in (_LOCAL_SIGNATURE, _END_SIGNATURE)
        try:
            declared = _declared_directory(handle)
        except _PARSE_ERRORS:
            declared = None
        if declared is None:
            if looks_like_zip:
                raise ArchiveRejected(
                    ArchiveProblem.CORRUPT_ARCHIVE,
                    "the archive is truncated: its end-of-directory record is missing",
                )
            raise ArchiveRejected(ArchiveProblem.NOT_A_ZIP, "the upload is not a zip archive")
        count, size = declared
        if count > limits.max_entries or size > limits.max_entries * CENTRAL_BYTES_PER_ENTRY:
            raise ArchiveRejected(
                ArchiveProblem.TOO_MANY_ENTRIES,
                f"the archive declares {count} entries in {size} bytes of directory, "
                f"more than {limits.max_entries} entries allow",
            )
        handle.seek(0)
        try:
            archive = zipfile.ZipFile(handle)
        except _PARSE_ERRORS as error:
            raise ArchiveRejected(
                ArchiveProblem.CORRUPT_ARCHIVE, f"the archive directory is unreadable: {error}"
            ) from None
        with archive:
            listed = len(archive.infolist())
            if listed != count:
                raise ArchiveRejected(
                    ArchiveProblem.CORRUPT_ARCHIVE,
                    f"the end record announces {count} entries but the directory lists {listed}",
                )
            yield archive, handle


def _data_start(handle: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Check the local header of ``info`` against the directory; where its data begins."""
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
        raise ArchiveRejected(
            ArchiveProblem.CORRUPT_ARCHIVE,
            f"the local header of {info.orig_filename!r} is missing or damaged",
        )
    fields: tuple[int, ...] = _LOCAL_HEADER.unpack(header)
    _, _, _, flags, method, _, _, crc, packed, unpacked, name_length, extra_length = fields
    # Readers that walk local headers must see what the directory says.
    disagrees = method != info.compress_type or (flags ^ info.flag_bits) & ENCRYPTION_FLAGS
    if not flags & _FLAG_DATA_DESCRIPTOR:  # else these are zeros and follow the data
        disagrees = disagrees or (
            crc != info.CRC
            or packed not in (info.compress_size, 0xFFFFFFFF)
            or unpacked not in (info.file_size, 0xFFFFFFFF)
        )
    if disagrees:
        raise ArchiveRejected(
            ArchiveProblem.CORRUPT_ARCHIVE,
            f"the local header of {info.orig_filename!r} disagrees with the directory",
        )
    raw_name = handle.read(name_length)
    try:
        local_name = raw_name.decode("utf-8" if flags & _FLAG_UTF8 else "cp437")
    except UnicodeDecodeError:
        local_name = None
    if local_name != info.orig_filename:
        raise ArchiveRejected(
            ArchiveProblem.CORRUPT_ARCHIVE,
            f"the directory names an entry {info.orig_filename!r} "
            f"but its local header says {raw_name!r}",
        )
    # Extractors that read local headers would honour a second name hidden only there.
    local_extra = handle.read(extra_length)
    if len(local_extra) != extra_length:
        raise ArchiveRejected(
            ArchiveProblem.CORRUPT_ARCHIVE,
            f"the local header of {info.orig_filename!r} is truncated",
        )
    check_extra_fields(info.orig_filename, extra_field_ids(info.orig_filename, local_extra))
    return info.header_offset + _LOCAL_HEADER.size + name_length + extra_length


def _raw_data(handle: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    handle.seek(_data_start(handle, info))
    remaining = info.compress_size
    while remaining:
        chunk = handle.read(min(CHUNK, remaining))
        if not chunk:
            raise ArchiveRejected(
                ArchiveProblem.CORRUPT_ARCHIVE, f"the data of {info.orig_filename!r} is truncated"
            )
        remaining -= len(chunk)
        yield chunk


def _member_data(handle: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The inflated content of one member in chunks of at most ``CHUNK`` bytes.

    Stops with ``size_mismatch`` as soon as the data runs past its declared size, and
    checks at the end that it is exactly that size, the deflate stream ended with the
    member's data and the CRC matches.
    """
    name = info.orig_filename
    if info.flag_bits & ENCRYPTION_FLAGS:
        raise ArchiveRejected(ArchiveProblem.ENCRYPTED_ENTRY, f"{name!r} is encrypted")
    if info.compress_type not in SUPPORTED_COMPRESSION:
        raise ArchiveRejected(
            ArchiveProblem.UNSUPPORTED_COMPRESSION,
            f"{name!r} uses compression method {info.compress_type}",
        )
    if info.compress_size == 0 and info.file_size == 0 and info.CRC == 0:
        return  # an empty entry, whichever method it names: nothing to inflate
    produced = 0
    crc = 0
    for piece in _inflate(handle, info):
        produced += len(piece)
        if produced > info.file_size:
            raise ArchiveRejected(
                ArchiveProblem.SIZE_MISMATCH,
                f"{name!r} declares {info.file_size} bytes but holds more",
            )
        crc = zlib.crc32(piece, crc)
        yield piece
    if produced != info.file_size:
        raise ArchiveRejected(
            ArchiveProblem.SIZE_MISMATCH,
            f"{name!r} declares {info.file_size} bytes but holds {produced}",
        )
    if crc != info.CRC:
        raise ArchiveRejected(ArchiveProblem.CORRUPT_ARCHIVE, f"bad CRC-32 for {name!r}")


def _inflate(handle: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    if info.compress_type == ZIP_STORED:
        yield from _raw_data(handle, info)
        return
    assert info.compress_type == ZIP_DEFLATED
    name = info.orig_filename
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        for chunk in _raw_data(handle, info):
            if inflater.eof:
                raise ArchiveRejected(
                    ArchiveProblem.UNLISTED_DATA,
                    f"{name!r} carries bytes after the end of its compressed data",
                )
            data = chunk
            while True:
                piece = inflater.decompress(data, CHUNK)
                if piece:
                    yield piece
                data = inflater.unconsumed_tail
                if inflater.eof or (not data and len(piece) < CHUNK):
                    break
    except zlib.error as error:
        raise ArchiveRejected(
            ArchiveProblem.CORRUPT_ARCHIVE, f"the data of {name!r} is damaged: {error}"
        ) from None
    if not inflater.eof:
        raise ArchiveRejected(
            ArchiveProblem.CORRUPT_ARCHIVE, f"the compressed data of {name!r} stops early"
        )
    if inflater.unused_data:
        raise ArchiveRejected(
            ArchiveProblem.UNLISTED_DATA,
            f"{name!r} carries bytes after the end of its compressed data",
        )


def _check_layout(handle: BinaryIO, infos: list[zipfile.ZipInfo], directory_at: int) -> None:
    """Entries must follow each other from the first byte to the central directory."""
    position = 0
    previous: zipfile.ZipInfo | None = None
    for info in sorted(infos, key=lambda i: i.header_offset):
        if previous is not None:
            position = _skip_descriptor(handle, previous, position)
        _expect_at(info.header_offset, position, repr(info.orig_filename))
        position = _data_start(handle, info) + info.compress_size
        previous = info
    if previous is not None:
        position = _skip_descriptor(handle, previous, position)
    _expect_at(directory_at, position, "the central directory")


def _expect_at(actual: int, expected: int, what: str) -> None:
    if actual < expected:
        raise ArchiveRejected(
            ArchiveProblem.OVERLAPPING_ENTRIES,
            f"{what} starts at byte {actual}, inside the entry before it",
        )
    if actual > expected:
        raise ArchiveRejected(
            ArchiveProblem.UNLISTED_DATA,
            f"{actual - expected} bytes before {what} belong to no listed entry",
        )


def _skip_descriptor(handle: BinaryIO, info: zipfile.ZipInfo, position: int) -> int:
    """Step over the data descriptor that follows streamed data (flag bit 3), checking it
    repeats the directory's CRC and sizes; any other bytes there are unlisted data."""
    if not info.flag_bits & _FLAG_DATA_DESCRIPTOR:
        return position
    handle.seek(position)
    raw = handle.read(24)
    offset = 4 if raw[:4] == _DESCRIPTOR_SIGNATURE else 0
    for sizes, width in (("<2L", 8), ("<2Q", 16)):
        end = offset + 4 + width
        if len(raw) < end:
            continue
        (crc,) = struct.unpack_from("<L", raw, offset)
        packed, unpacked = struct.unpack_from(sizes, raw, offset + 4)
        if (crc, packed, unpacked) == (info.CRC, info.compress_size, info.file_size):
            return position + end
    raise ArchiveRejected(
        ArchiveProblem.CORRUPT_ARCHIVE,
        f"the data descriptor of {info.orig_filename!r} does not match the directory",
    )
