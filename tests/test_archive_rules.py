"""Archive safety: every hostile kind of upload is refused with its own code, at the stage
that must catch it, and the sample package passes all of them. No database, no network."""

import pickle
import stat
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from domain.archive import (
    ALLOWED_SUFFIXES,
    MAX_COMPONENT_BYTES,
    RATIO_MIN_SIZE,
    SNIFF_TAIL_BYTES,
    ZIP_DEFLATED,
    ZIP_STORED,
    ArchiveLimits,
    ArchiveProblem,
    ArchiveRejected,
    ArchiveSummary,
    EntryInfo,
    check_entries,
    check_member_content,
    extra_field_ids,
)
from domain.errors import DomainError, ErrorKind
from integrations import zip_archive
from tests import archives
from tests.archives import MANIFEST, TECHNICAL_NAME, Entry

P = ArchiveProblem
LIMITS = ArchiveLimits()
READ, RULES, DATA = "read_entries", "check_entries", "verify_crcs"


def inspect(path: Path, limits: ArchiveLimits = LIMITS) -> ArchiveSummary:
    """What the ingestion activity does: directory, rules, then every byte of data."""
    summary = check_entries(zip_archive.read_entries(path, limits), TECHNICAL_NAME, limits)
    zip_archive.verify_crcs(path, limits)
    return summary


def stage_of_rejection(path: Path, limits: ArchiveLimits = LIMITS) -> tuple[str, str]:
    stage = READ
    try:
        entries = zip_archive.read_entries(path, limits)
        stage = RULES
        check_entries(entries, TECHNICAL_NAME, limits)
        stage = DATA
        zip_archive.verify_crcs(path, limits)
    except ArchiveRejected as rejected:
        return stage, rejected.code
    raise AssertionError(f"{path.name} was accepted")


def write(tmp_path: Path, data: bytes, name: str = "upload.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- the sample package ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_zip(tmp_path_factory) -> Path:
    """The sample folder zipped at test time, as its README says."""
    return archives.zip_sample_folder(tmp_path_factory.mktemp("sample") / "hello_fastvue.zip")


def test_the_sample_package_passes(sample_zip):
    files = archives.sample_files()
    with zipfile.ZipFile(sample_zip) as archive:
        entry_count = len(archive.infolist())

    summary = inspect(sample_zip)

    assert summary == ArchiveSummary(
        manifest_path=MANIFEST,
        python_files=sorted(name for name in files if name.endswith(".py")),
        total_uncompressed=sum(len(data) for data in files.values()),
        entry_count=entry_count,
    )
    assert len(summary.python_files) == 5


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: archives.build_zip(archives.package_entries()), id="with-folders"),
        pytest.param(
            lambda: archives.build_zip(archives.package_entries(folders=False)), id="no-folders"
        ),
        pytest.param(
            lambda: archives.streamed_zip(archives.package_entries()), id="data-descriptors"
        ),
        pytest.param(lambda: archives.zip64_zip(archives.package_entries()), id="zip64"),
        pytest.param(lambda: archives.with_zip64_end(archives.sample_zip()), id="zip64-end"),
        pytest.param(
            lambda: archives.build_zip(
                Entry(e.name, e.data, compress_type=ZIP_STORED) for e in archives.package_entries()
            ),
            id="stored",
        ),
    ],
)
def test_sample_written_by_other_tools_passes(tmp_path, build: Callable[[], bytes]):
    summary = inspect(write(tmp_path, build()))

    assert summary.manifest_path == MANIFEST
    assert len(summary.python_files) == 5


# --- every hostile kind, through the whole pipeline ----------------------------------

HOSTILE = [
    # id, builder, stage that refuses it, code
    ("not-a-zip", archives.not_a_zip, READ, P.NOT_A_ZIP),
    ("empty-file", archives.empty_file, READ, P.NOT_A_ZIP),
    ("truncated", archives.truncated_zip, READ, P.CORRUPT_ARCHIVE),
    ("garbled-directory", archives.garbled_directory, READ, P.CORRUPT_ARCHIVE),
    ("miscounted-directory", archives.miscounted_directory, READ, P.CORRUPT_ARCHIVE),
    ("huge-declared-count", archives.huge_declared_count, READ, P.TOO_MANY_ENTRIES),
    ("huge-zip64-count", archives.huge_zip64_count, READ, P.TOO_MANY_ENTRIES),
    ("huge-zip64-directory", archives.huge_zip64_directory, READ, P.TOO_MANY_ENTRIES),
    ("too-many-entries", archives.too_many_entries, READ, P.TOO_MANY_ENTRIES),
    ("empty-zip", archives.empty_zip, RULES, P.EMPTY_ARCHIVE),
    ("only-folders", archives.only_folders, RULES, P.EMPTY_ARCHIVE),
    ("zip-slip", archives.zip_slip, RULES, P.PATH_TRAVERSAL),
    ("zip-slip-inside", archives.zip_slip_inside, RULES, P.PATH_TRAVERSAL),
    ("absolute-path", archives.absolute_path, RULES, P.ABSOLUTE_PATH),
    ("backslash", archives.backslash_path, RULES, P.BACKSLASH_IN_PATH),
    ("drive-letter", archives.drive_letter, RULES, P.DRIVE_LETTER),
    ("data-stream", archives.alternate_data_stream, RULES, P.INVALID_NAME_CHARACTER),
    ("nul-in-name", archives.nul_in_name, RULES, P.INVALID_NAME_CHARACTER),
    ("escape-in-name", archives.control_character_in_name, RULES, P.INVALID_NAME_CHARACTER),
    ("bidi-override", archives.bidi_override_in_name, RULES, P.INVALID_NAME_CHARACTER),
    ("empty-component", archives.empty_component, RULES, P.INVALID_PATH),
    ("dot-component", archives.dot_component, RULES, P.INVALID_PATH),
    ("trailing-dot", archives.trailing_dot, RULES, P.INVALID_PATH),
    ("long-name", archives.long_name, RULES, P.NAME_TOO_LONG),
    ("symlink", archives.symlink_entry, RULES, P.SYMLINK),
    ("reparse-point", archives.windows_reparse_point, RULES, P.SYMLINK),
    ("char-device", archives.special_file(stat.S_IFCHR), RULES, P.SPECIAL_FILE),
    ("block-device", archives.special_file(stat.S_IFBLK), RULES, P.SPECIAL_FILE),
    ("fifo", archives.special_file(stat.S_IFIFO), RULES, P.SPECIAL_FILE),
    ("socket", archives.special_file(stat.S_IFSOCK), RULES, P.SPECIAL_FILE),
    ("encrypted", archives.encrypted_entry, RULES, P.ENCRYPTED_ENTRY),
    ("bzip2", archives.bzip2_entry, RULES, P.UNSUPPORTED_COMPRESSION),
    ("bytecode", archives.compiled_code, RULES, P.COMPILED_CODE),
    ("native-extension", archives.native_extension, RULES, P.COMPILED_CODE),
    ("unicode-path-extra", archives.unicode_path_extra, RULES, P.UNICODE_EXTRA_FIELD),
    ("unicode-path-to-so", archives.unicode_path_extra_native, RULES, P.UNICODE_EXTRA_FIELD),
    ("unicode-comment-extra", archives.unicode_comment_extra, RULES, P.UNICODE_EXTRA_FIELD),
    (
        "unicode-path-local-only",
        archives.unicode_path_extra_local_only,
        DATA,
        P.UNICODE_EXTRA_FIELD,
    ),
    ("nested-zip", archives.nested_archive("vendor.zip"), RULES, P.NESTED_ARCHIVE),
    (
        "nested-wheel",
        archives.nested_archive("vendor-1.0-py3-none-any.whl"),
        RULES,
        P.NESTED_ARCHIVE,
    ),
    ("nested-egg", archives.nested_archive("vendor.egg"), RULES, P.NESTED_ARCHIVE),
    ("nested-jar", archives.nested_archive("vendor.jar"), RULES, P.NESTED_ARCHIVE),
    ("nested-tar-gz", archives.nested_archive("vendor.tar.gz"), RULES, P.NESTED_ARCHIVE),
    ("nested-pyz", archives.nested_archive("VENDOR.PYZ"), RULES, P.NESTED_ARCHIVE),
    ("zip-named-txt", archives.disguised_nested_archive, DATA, P.NESTED_ARCHIVE),
    ("zip-behind-png", archives.polyglot_image, DATA, P.NESTED_ARCHIVE),
    ("gzip-named-json", archives.gzip_member, DATA, P.NESTED_ARCHIVE),
    ("elf-without-suffix", archives.disguised_native_code, DATA, P.COMPILED_CODE),
    ("shell-script", archives.disallowed_file_type, RULES, P.DISALLOWED_FILE_TYPE),
    ("ratio-bomb", archives.ratio_bomb, RULES, P.COMPRESSION_RATIO_EXCEEDED),
    ("declared-size-bomb", archives.declared_size_bomb, RULES, P.TOO_LARGE_UNCOMPRESSED),
    ("duplicate", archives.duplicate_entry, RULES, P.DUPLICATE_ENTRY),
    ("file-and-folder", archives.file_and_folder, RULES, P.DUPLICATE_ENTRY),
    ("case-collision", archives.case_collision, RULES, P.NAME_COLLISION),
    ("unicode-collision", archives.unicode_collision, RULES, P.NAME_COLLISION),
    ("top-level-file", archives.top_level_file, RULES, P.TOP_LEVEL_NOT_A_FOLDER),
    ("two-top-folders", archives.two_top_level_folders, RULES, P.MULTIPLE_TOP_LEVEL_FOLDERS),
    ("wrong-top-folder", archives.wrong_top_level_name, RULES, P.TOP_LEVEL_NAME_MISMATCH),
    ("missing-manifest", archives.missing_manifest, RULES, P.MANIFEST_MISSING),
    ("manifest-folder", archives.manifest_as_folder, RULES, P.MANIFEST_MISSING),
    ("big-manifest", archives.oversized_manifest, RULES, P.MANIFEST_TOO_LARGE),
    ("lying-header", archives.lying_header, DATA, P.SIZE_MISMATCH),
    ("short-member", archives.short_member, DATA, P.SIZE_MISMATCH),
    ("bad-crc", archives.bad_crc, DATA, P.CORRUPT_ARCHIVE),
    ("overlapping", archives.overlapping_entries, DATA, P.OVERLAPPING_ENTRIES),
    ("polyglot-prefix", archives.prepended_data, DATA, P.UNLISTED_DATA),
    ("hidden-entry", archives.hidden_before_directory, DATA, P.UNLISTED_DATA),
    ("trailing-bytes", archives.trailing_bytes_in_member, DATA, P.UNLISTED_DATA),
]


@pytest.mark.parametrize(
    ("build", "stage", "code"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE]
)
def test_hostile_archive_is_refused_with_its_code(tmp_path, build, stage, code):
    path = write(tmp_path, build())

    assert stage_of_rejection(path) == (stage, code)


def test_a_size_bomb_over_a_smaller_limit_is_refused_before_and_while_reading(tmp_path):
    path = write(tmp_path, archives.real_size_bomb())
    small = ArchiveLimits(max_total_uncompressed=512 * 1024)

    inspect(path)  # within the default limits it is a valid package
    assert stage_of_rejection(path, small) == (RULES, P.TOO_LARGE_UNCOMPRESSED)
    with pytest.raises(ArchiveRejected) as raised:  # and reading alone enforces it too
        zip_archive.verify_crcs(path, small)
    assert raised.value.code == P.TOO_LARGE_UNCOMPRESSED


def test_entry_count_limit_comes_from_the_limits(tmp_path):
    path = write(tmp_path, archives.too_many_entries(count=30))

    inspect(path, ArchiveLimits(max_entries=40))
    assert stage_of_rejection(path, ArchiveLimits(max_entries=38)) == (READ, P.TOO_MANY_ENTRIES)


def test_the_manifest_size_limit_comes_from_the_limits(sample_zip):
    manifest_size = len(archives.sample_files()[MANIFEST])

    inspect(sample_zip, ArchiveLimits(max_manifest_bytes=manifest_size))
    assert stage_of_rejection(sample_zip, ArchiveLimits(max_manifest_bytes=manifest_size - 1)) == (
        RULES,
        P.MANIFEST_TOO_LARGE,
    )


OPENERS = {
    "read_member": lambda path: zip_archive.read_member(path, MANIFEST, 64 * 1024),
    "verify_crcs": lambda path: zip_archive.verify_crcs(path, LIMITS),
    "extract": lambda path: zip_archive.extract_python_files(
        path, ArchiveSummary(MANIFEST, [], 0, 0), path.parent
    ),
}


@pytest.mark.parametrize("opener", OPENERS.values(), ids=OPENERS.keys())
@pytest.mark.parametrize(
    ("build", "code"),
    [
        (archives.not_a_zip, P.NOT_A_ZIP),
        (archives.truncated_zip, P.CORRUPT_ARCHIVE),
        (archives.garbled_directory, P.CORRUPT_ARCHIVE),
        (archives.miscounted_directory, P.CORRUPT_ARCHIVE),
        (archives.huge_declared_count, P.TOO_MANY_ENTRIES),
        (archives.huge_zip64_count, P.TOO_MANY_ENTRIES),
    ],
    ids=["not-a-zip", "truncated", "garbled", "miscounted", "huge-count", "huge-zip64-count"],
)
def test_every_reader_opens_the_archive_with_the_same_checks(tmp_path, opener, build, code):
    path = write(tmp_path, build())

    with pytest.raises(ArchiveRejected) as raised:
        opener(path)
    assert raised.value.code == code


def test_a_missing_file_is_not_blamed_on_the_archive(tmp_path):
    with pytest.raises(FileNotFoundError):
        zip_archive.read_entries(tmp_path / "absent.zip")


# --- reading is bounded by the limits, not by the headers ----------------------------


def _one_entry_zip(tmp_path: Path, data: bytes, *, declared: int | None = None) -> Path:
    raw = archives.build_zip([Entry(f"{TECHNICAL_NAME}/big.py", data)])
    if declared is not None:
        raw = archives.patch_entry(raw, f"{TECHNICAL_NAME}/big.py", file_size=declared)
    return write(tmp_path, raw)


def test_verify_streams_large_members_in_small_chunks(tmp_path):
    size = 48 * 1024 * 1024
    path = _one_entry_zip(tmp_path, bytes(size))
    progress: list[int] = []

    tracemalloc.start()
    try:
        zip_archive.verify_crcs(path, LIMITS, on_progress=progress.append)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert progress == [size]
    assert peak < 2 * 1024 * 1024


def test_a_lying_header_stops_reading_at_the_declared_size(tmp_path):
    path = _one_entry_zip(tmp_path, bytes(48 * 1024 * 1024), declared=1000)

    tracemalloc.start()
    try:
        with pytest.raises(ArchiveRejected) as raised:
            zip_archive.verify_crcs(path, LIMITS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert raised.value.code == P.SIZE_MISMATCH
    assert peak < 2 * 1024 * 1024


def test_read_member_returns_the_manifest_bytes(sample_zip):
    raw = zip_archive.read_member(sample_zip, MANIFEST, LIMITS.max_manifest_bytes)

    assert raw == archives.sample_files()[MANIFEST]


@pytest.mark.parametrize(
    ("name", "max_bytes", "code"),
    [
        (f"{TECHNICAL_NAME}/absent.json", 1000, P.MEMBER_MISSING),
        (f"{TECHNICAL_NAME}/api/", 1000, P.MEMBER_MISSING),
        (MANIFEST, 10, P.MEMBER_TOO_LARGE),
    ],
    ids=["absent", "a-folder", "over-max-bytes"],
)
def test_read_member_refusals(tmp_path, name, max_bytes, code):
    path = write(tmp_path, archives.sample_zip())

    with pytest.raises(ArchiveRejected) as raised:
        zip_archive.read_member(path, name, max_bytes)
    assert raised.value.code == code


def test_read_member_never_reads_past_max_bytes_when_the_header_lies(tmp_path):
    path = _one_entry_zip(tmp_path, b"{}" + b" " * (16 * 1024 * 1024), declared=500)

    tracemalloc.start()
    try:
        with pytest.raises(ArchiveRejected) as raised:
            zip_archive.read_member(path, f"{TECHNICAL_NAME}/big.py", 1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert raised.value.code == P.SIZE_MISMATCH
    assert peak < 2 * 1024 * 1024


def test_read_member_checks_the_crc(tmp_path):
    path = write(tmp_path, archives.bad_crc())

    with pytest.raises(ArchiveRejected) as raised:
        zip_archive.read_member(path, f"{TECHNICAL_NAME}/api/routes.py", 10_000)
    assert raised.value.code == P.CORRUPT_ARCHIVE


# --- extracting the Python files for the scan -----------------------------------------


def test_extract_writes_exactly_the_python_files(tmp_path, sample_zip):
    summary = inspect(sample_zip)
    dest = tmp_path / "scan"
    dest.mkdir()

    written = zip_archive.extract_python_files(sample_zip, summary, dest)

    files = archives.sample_files()
    on_disk = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    assert on_disk == set(summary.python_files)
    assert sorted(written) == sorted(dest / name for name in summary.python_files)
    for name in summary.python_files:
        assert (dest / name).read_bytes() == files[name]


def test_extract_never_overwrites(tmp_path, sample_zip):
    summary = inspect(sample_zip)
    existing = tmp_path / TECHNICAL_NAME / "__init__.py"
    existing.parent.mkdir()
    existing.write_text("mine")

    with pytest.raises(FileExistsError):
        zip_archive.extract_python_files(sample_zip, summary, tmp_path)
    assert existing.read_text() == "mine"


def test_extract_refuses_a_forged_summary_that_leaves_dest(tmp_path):
    path = write(tmp_path, archives.zip_slip())
    forged = ArchiveSummary(MANIFEST, ["../evil.py"], 0, 0)
    dest = tmp_path / "scan"
    dest.mkdir()

    with pytest.raises(ArchiveRejected) as raised:
        zip_archive.extract_python_files(path, forged, dest)
    assert raised.value.code == P.PATH_TRAVERSAL
    assert not (tmp_path / "evil.py").exists()


# --- the rules on their own, over entry metadata ------------------------------------------


def entry(
    name: str,
    size: int = 10,
    *,
    packed: int | None = None,
    flags: int = 0,
    mode: int | None = None,
    dos: int = 0,
    method: int = ZIP_DEFLATED,
) -> EntryInfo:
    is_dir = name.endswith("/")
    if mode is None:
        mode = (stat.S_IFDIR | 0o755) if is_dir else (stat.S_IFREG | 0o644)
    return EntryInfo(
        name=name,
        is_dir=is_dir,
        file_size=0 if is_dir else size,
        compress_size=(0 if is_dir else size) if packed is None else packed,
        flag_bits=flags,
        external_attr=(mode << 16) | dos,
        create_system=3,
        compress_type=method,
    )


T = TECHNICAL_NAME
BASE = [entry(f"{T}/"), entry(f"{T}/manifest.json", 300), entry(f"{T}/__init__.py", 20)]


def rules(*extra: EntryInfo, limits: ArchiveLimits = LIMITS) -> ArchiveSummary:
    return check_entries([*BASE, *extra], T, limits)


RULE_CASES = [
    # id, extra entries, limits, code
    ("negative-size", [entry(f"{T}/a.py", -1)], LIMITS, P.CORRUPT_ARCHIVE),
    (
        "folder-with-data",
        [EntryInfo(f"{T}/d/", True, 5, 5, 0, 0, 3, ZIP_STORED)],
        LIMITS,
        P.CORRUPT_ARCHIVE,
    ),
    ("folder-without-slash", [EntryInfo(f"{T}/d", True, 0, 0, 0, 0, 3)], LIMITS, P.CORRUPT_ARCHIVE),
    (
        "stored-size-differs",
        [entry(f"{T}/a.txt", 100, packed=10, method=ZIP_STORED)],
        LIMITS,
        P.SIZE_MISMATCH,
    ),
    (
        "nothing-packed-into-a-lot",
        [entry(f"{T}/a.txt", RATIO_MIN_SIZE, packed=0)],
        LIMITS,
        P.COMPRESSION_RATIO_EXCEEDED,
    ),
    (
        "many-small-over-ratio",
        [entry(f"{T}/f{i}.txt", RATIO_MIN_SIZE - 1, packed=100) for i in range(400)],
        LIMITS,
        P.COMPRESSION_RATIO_EXCEEDED,
    ),
    ("dir-mode-on-file", [entry(f"{T}/x", mode=stat.S_IFDIR | 0o755)], LIMITS, P.SPECIAL_FILE),
    ("dos-device", [entry(f"{T}/x", dos=0x40)], LIMITS, P.SPECIAL_FILE),
    ("unknown-file-type", [entry(f"{T}/x", mode=0o170000)], LIMITS, P.SPECIAL_FILE),
    ("strong-encryption", [entry(f"{T}/x", flags=0x40)], LIMITS, P.ENCRYPTED_ENTRY),
    ("masked-headers", [entry(f"{T}/x", flags=0x2000)], LIMITS, P.ENCRYPTED_ENTRY),
    ("lzma", [entry(f"{T}/x", method=14)], LIMITS, P.UNSUPPORTED_COMPRESSION),
    ("three-dots", [entry(f"{T}/.../x.py")], LIMITS, P.PATH_TRAVERSAL),
    ("dot-dot-folder", [entry(f"{T}/../")], LIMITS, P.PATH_TRAVERSAL),
    ("unc-path", [entry("//server/share/x.py")], LIMITS, P.ABSOLUTE_PATH),
    ("drive-relative", [entry("c:x.py")], LIMITS, P.DRIVE_LETTER),
    ("question-mark", [entry(f"{T}/what?.py")], LIMITS, P.INVALID_NAME_CHARACTER),
    ("delete-char", [entry(f"{T}/a\x7f.py")], LIMITS, P.INVALID_NAME_CHARACTER),
    ("c1-control", [entry(f"{T}/a\x85.py")], LIMITS, P.INVALID_NAME_CHARACTER),
    ("isolate", [entry(f"{T}/a\u2066.py")], LIMITS, P.INVALID_NAME_CHARACTER),
    ("trailing-space", [entry(f"{T}/api /x.py")], LIMITS, P.INVALID_PATH),
    ("empty-name", [entry("")], LIMITS, P.INVALID_PATH),
    (
        "long-component-in-bytes",
        [entry(f"{T}/{'é' * (MAX_COMPONENT_BYTES // 2 + 1)}.py")],
        LIMITS,
        P.NAME_TOO_LONG,
    ),
    (
        "long-path",
        [entry(f"{T}/" + "/".join(["d" * 100] * 10) + "/x.py")],
        LIMITS,
        P.NAME_TOO_LONG,
    ),
    ("pyo", [entry(f"{T}/x.PYO")], LIMITS, P.COMPILED_CODE),
    ("pyd", [entry(f"{T}/x.pyd")], LIMITS, P.COMPILED_CODE),
    ("dll", [entry(f"{T}/bin/x.DLL")], LIMITS, P.COMPILED_CODE),
    ("exe", [entry(f"{T}/setup.exe")], LIMITS, P.COMPILED_CODE),
    ("dylib", [entry(f"{T}/libx.dylib")], LIMITS, P.COMPILED_CODE),
    ("versioned-so", [entry(f"{T}/libx.so.1")], LIMITS, P.DISALLOWED_FILE_TYPE),
    ("wheel", [entry(f"{T}/deps/x-1.0-py3-none-any.whl")], LIMITS, P.NESTED_ARCHIVE),
    ("tgz", [entry(f"{T}/deps/x.tgz")], LIMITS, P.NESTED_ARCHIVE),
    ("sh", [entry(f"{T}/run.sh")], LIMITS, P.DISALLOWED_FILE_TYPE),
    ("pickle", [entry(f"{T}/model.pkl")], LIMITS, P.DISALLOWED_FILE_TYPE),
    (
        "unicode-path-id",
        [EntryInfo(f"{T}/a.txt", False, 5, 5, 0, 0, 3, extra_ids=(0x5455, 0x7075))],
        LIMITS,
        P.UNICODE_EXTRA_FIELD,
    ),
    (
        "unicode-comment-id",
        [EntryInfo(f"{T}/a.txt", False, 5, 5, 0, 0, 3, extra_ids=(0x6375,))],
        LIMITS,
        P.UNICODE_EXTRA_FIELD,
    ),
    (
        "unicode-path-on-folder",
        [EntryInfo(f"{T}/d/", True, 0, 0, 0, 0, 3, ZIP_STORED, extra_ids=(0x7075,))],
        LIMITS,
        P.UNICODE_EXTRA_FIELD,
    ),
    ("folder-twice", [entry(f"{T}/api/"), entry(f"{T}/api/")], LIMITS, P.DUPLICATE_ENTRY),
    (
        "casefold-eszett",
        [entry(f"{T}/stra\u00dfe.py"), entry(f"{T}/STRASSE.py")],
        LIMITS,
        P.NAME_COLLISION,
    ),
    ("over-entry-limit", [entry(f"{T}/a.py")], ArchiveLimits(max_entries=3), P.TOO_MANY_ENTRIES),
    (
        "over-total-limit",
        [entry(f"{T}/a.py", 1000)],
        ArchiveLimits(max_total_uncompressed=1319),
        P.TOO_LARGE_UNCOMPRESSED,
    ),
    (
        "over-ratio-limit",
        [entry(f"{T}/a.txt", RATIO_MIN_SIZE, packed=RATIO_MIN_SIZE // 10 - 1)],
        ArchiveLimits(max_ratio=10),
        P.COMPRESSION_RATIO_EXCEEDED,
    ),
    ("prefix-of-name", [entry(f"{T}_evil/x.py")], LIMITS, P.MULTIPLE_TOP_LEVEL_FOLDERS),
]


@pytest.mark.parametrize(
    ("extra", "limits", "code"),
    [case[1:] for case in RULE_CASES],
    ids=[case[0] for case in RULE_CASES],
)
def test_entry_rules(extra, limits, code):
    with pytest.raises(ArchiveRejected) as raised:
        rules(*extra, limits=limits)
    assert raised.value.code == code
    assert raised.value.detail


ACCEPTED_CASES = [
    ("small-file-compresses-well", [entry(f"{T}/a.txt", 4096, packed=2)]),
    ("at-ratio-limit", [entry(f"{T}/a.txt", 100 * 1024, packed=1024)]),
    ("hidden-file", [entry(f"{T}/.gitignore")]),
    ("non-ascii-name", [entry(f"{T}/données/café.py")]),
    ("spaces-inside", [entry(f"{T}/static/my file.txt")]),
    ("empty-pycache-folder", [entry(f"{T}/__pycache__/")]),
    ("stored", [entry(f"{T}/a.txt", 50, method=ZIP_STORED)]),
    ("license-without-suffix", [entry(f"{T}/LICENSE"), entry(f"{T}/NOTICE")]),
    ("py-typed", [entry(f"{T}/py.typed")]),
    ("other-extra-fields", [EntryInfo(f"{T}/a.py", False, 5, 5, 0, 0, 3, extra_ids=(1, 0x5455))]),
    *(
        (f"allowed-{suffix.lstrip('.')}", [entry(f"{T}/static/file{suffix.upper()}")])
        for suffix in sorted(ALLOWED_SUFFIXES)
    ),
    ("dos-only-attributes", [EntryInfo(f"{T}/a.py", False, 5, 5, 0, 0x20, 0)]),
]


@pytest.mark.parametrize(
    "extra", [case[1] for case in ACCEPTED_CASES], ids=[case[0] for case in ACCEPTED_CASES]
)
def test_entries_that_are_fine(extra):
    summary = rules(*extra)

    assert summary.entry_count == len(BASE) + len(extra)


def test_limits_are_inclusive():
    total = sum(e.file_size for e in BASE)

    assert rules(limits=ArchiveLimits(max_entries=3, max_total_uncompressed=total)).entry_count == 3


def test_python_files_are_the_regular_py_sources():
    summary = rules(
        entry(f"{T}/api/"),
        entry(f"{T}/api/routes.py"),
        entry(f"{T}/gui.pyw"),
        entry(f"{T}/LEGACY.PY"),
        entry(f"{T}/stubs.pyi"),
        entry(f"{T}/notes.py.txt"),
        entry(f"{T}/folder.py/"),
    )

    assert summary.python_files == [
        f"{T}/__init__.py",
        f"{T}/api/routes.py",
        f"{T}/gui.pyw",
        f"{T}/LEGACY.PY",
    ]


def test_archive_rejected_is_a_domain_error_that_survives_pickling():
    error = ArchiveRejected(P.SYMLINK, "'x' is a symbolic link")

    copy = pickle.loads(pickle.dumps(error))

    assert isinstance(copy, DomainError)
    assert (copy.code, copy.detail, copy.kind) == ("symlink", error.detail, ErrorKind.INVALID)


def test_unicode_extra_fields_are_read_from_the_directory(tmp_path):
    entries = zip_archive.read_entries(write(tmp_path, archives.unicode_path_extra()))

    decoy = next(e for e in entries if e.name == f"{T}/notes.txt")
    assert decoy.extra_ids == (0x7075,)
    assert all(e.extra_ids == () for e in entries if e is not decoy)


@pytest.mark.parametrize(
    "extra", [b"\x75\x70\x05\x00abc", b"\x01\x00\x00\x00\x00"], ids=["overrun", "stray"]
)
def test_a_garbled_extra_block_is_corrupt(extra):
    with pytest.raises(ArchiveRejected) as raised:
        extra_field_ids("x", extra)

    assert raised.value.code == P.CORRUPT_ARCHIVE


def test_content_sniffing_lets_ordinary_files_through(sample_zip):
    zip_archive.verify_crcs(sample_zip, LIMITS)
    check_member_content("a.png", b"\x89PNG\r\n\x1a\n" + bytes(100), bytes(100))
    check_member_content("a.txt", b"MZ is a text file" + bytes(100), b"")
    check_member_content("a.txt", b"BZh is not bzip2", b"")


def test_a_zip_end_record_only_counts_near_the_end():
    far = b"PK\x05\x06" + bytes(SNIFF_TAIL_BYTES)
    check_member_content("big.png", b"\x89PNG", far)

    with pytest.raises(ArchiveRejected) as raised:
        check_member_content("big.png", b"\x89PNG", far[:SNIFF_TAIL_BYTES])
    assert raised.value.code == P.NESTED_ARCHIVE


@pytest.mark.parametrize(
    "head",
    [b"MZ" + bytes(58) + (64).to_bytes(4, "little") + b"PE\x00\x00", b"\xcf\xfa\xed\xfe"],
    ids=["windows", "mach-o"],
)
def test_native_programs_are_compiled_code_whatever_their_name(head):
    with pytest.raises(ArchiveRejected) as raised:
        check_member_content("icon.svg", head, head)

    assert raised.value.code == P.COMPILED_CODE


def test_every_reason_code_has_a_case():
    covered = {case[-1] for case in HOSTILE} | {case[-1] for case in RULE_CASES}
    covered |= {P.MEMBER_MISSING, P.MEMBER_TOO_LARGE}  # test_read_member_refusals

    assert covered == set(ArchiveProblem)
