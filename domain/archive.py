"""Archive safety rules for uploaded module packages, over entry metadata only.

The zip is read elsewhere (``integrations.zip_archive``); here we decide, from what the
central directory declares, whether the package may be unpacked at all: every name must
stay inside one folder named after the module on every file system a FastVue instance may
run on, nothing may be a link, a device or encrypted, and the declared sizes must stay
within limits. The I/O side then checks that the data matches these declarations.
"""

import stat
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import DomainError

MANIFEST_NAME = "manifest.json"
MAX_NAME_LENGTH = 1024
"""Characters in a whole entry name."""
MAX_COMPONENT_BYTES = 255
"""UTF-8 bytes in one path component: the limit of ext4, NTFS and APFS."""
RATIO_MIN_SIZE = 64 * 1024
"""Entries smaller than this are not held to ``max_ratio``: a short file of repeated
characters compresses far better than 100:1 and cannot hurt anyone."""

PYTHON_SUFFIXES = (".py", ".pyw")
COMPILED_SUFFIXES = (
    ".pyc",
    ".pyo",
    ".pyd",
    ".so",
    ".dll",
    ".dylib",
    ".exe",
    ".bin",
    ".elf",
    ".o",
    ".a",
    ".lib",
    ".class",
    ".wasm",
)
"""Code that runs without a source the code scan can read (``__pycache__`` bytecode in
unchecked-hash mode is used even next to a different ``.py``), and native programs."""
NESTED_ARCHIVE_SUFFIXES = (
    ".zip",
    ".whl",
    ".egg",
    ".pyz",
    ".pex",
    ".jar",
    ".war",
    ".ear",
    ".apk",
    ".tar",
    ".tgz",
    ".tbz",
    ".tbz2",
    ".txz",
    ".gz",
    ".bz2",
    ".xz",
    ".lz",
    ".lzma",
    ".zst",
    ".7z",
    ".rar",
    ".cab",
    ".deb",
    ".rpm",
)
"""Archives inside the package: ``zipimport`` imports from any of the zip kinds once it is
on ``sys.path``, and the others unpack to code the scan never saw."""
ALLOWED_SUFFIXES = frozenset(
    {
        *PYTHON_SUFFIXES,
        ".pyi",
        ".typed",  # py.typed
        ".json",
        ".yaml",
        ".yml",
        ".toml",
        ".txt",
        ".md",
        ".rst",
        ".cfg",
        ".ini",
        ".html",
        ".htm",
        ".css",
        ".scss",
        ".js",
        ".mjs",
        ".vue",
        ".ts",
        ".map",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".webp",
        ".ico",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".po",
        ".pot",
        ".mo",
        ".csv",
        ".xml",
        ".sql",
        ".jinja",
        ".j2",
    }
)
"""File types a module package may hold (the suffix of the last component, any case);
names without a suffix (``LICENSE``, ``.gitignore``) are accepted too. Their content is
still sniffed for archives and executables (``check_member_content``)."""

UNICODE_PATH_EXTRA = 0x7075
UNICODE_COMMENT_EXTRA = 0x6375
UNICODE_EXTRAS = frozenset({UNICODE_PATH_EXTRA, UNICODE_COMMENT_EXTRA})
"""Info-ZIP extra fields that carry a second name (or comment) for an entry: ``unzip`` and
other extractors write the file under that name, not the one every check here looked at."""

SNIFF_HEAD_BYTES = 1024
SNIFF_TAIL_BYTES = 0xFFFF + 22
"""Where ``zipimport`` and ``zipfile`` look for a zip's end record: the last 22 bytes of a
file plus room for the longest archive comment."""
_ARCHIVE_MAGIC = (
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"PK\x07\x08", "a split zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
    (b"MSCF\x00\x00\x00\x00", "a cabinet archive"),
)
_EXECUTABLE_MAGIC = (
    (b"\x7fELF", "an ELF executable or shared object"),
    (b"\xfe\xed\xfa\xce", "a Mach-O binary"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O binary"),
    (b"\xce\xfa\xed\xfe", "a Mach-O binary"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O binary"),
    (b"\xca\xfe\xba\xbe", "a Mach-O universal binary or Java class"),
    (b"\x00asm", "a WebAssembly module"),
)

ZIP_STORED = 0
ZIP_DEFLATED = 8
SUPPORTED_COMPRESSION = frozenset({ZIP_STORED, ZIP_DEFLATED})

FLAG_ENCRYPTED = 0x0001
FLAG_STRONG_ENCRYPTION = 0x0040
FLAG_MASKED_HEADERS = 0x2000
ENCRYPTION_FLAGS = FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS

DOS_DEVICE = 0x40
DOS_REPARSE_POINT = 0x400
"""Windows attribute bits in the low word of ``external_attr``: a reparse point is how a
Windows archiver records a symlink or junction."""

WINDOWS_FORBIDDEN = frozenset('<>:"|?*')
BIDI_CONTROLS = frozenset(
    [
        "\u061c",
        "\u200e",
        "\u200f",
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
    ]
)
"""Marks and overrides that reorder how a name is displayed (``gpj.py`` shown as ``yp.jpg``)."""


class ArchiveProblem(StrEnum):
    """Stable reason codes for a refused archive."""

    NOT_A_ZIP = "not_a_zip"
    CORRUPT_ARCHIVE = "corrupt_archive"
    EMPTY_ARCHIVE = "empty_archive"
    TOO_MANY_ENTRIES = "too_many_entries"
    TOO_LARGE_UNCOMPRESSED = "too_large_uncompressed"
    COMPRESSION_RATIO_EXCEEDED = "compression_ratio_exceeded"
    SIZE_MISMATCH = "size_mismatch"
    """The data is longer or shorter than the entry declares."""
    UNSUPPORTED_COMPRESSION = "unsupported_compression"
    ENCRYPTED_ENTRY = "encrypted_entry"
    ABSOLUTE_PATH = "absolute_path"
    DRIVE_LETTER = "drive_letter"
    PATH_TRAVERSAL = "path_traversal"
    BACKSLASH_IN_PATH = "backslash_in_path"
    INVALID_NAME_CHARACTER = "invalid_name_character"
    """NUL and other control characters, bidi overrides, or characters Windows refuses."""
    INVALID_PATH = "invalid_path"
    """An empty or ``.`` component, or one ending in a dot or space (Windows drops those)."""
    NAME_TOO_LONG = "name_too_long"
    SYMLINK = "symlink"
    SPECIAL_FILE = "special_file"
    COMPILED_CODE = "compiled_code"
    """Bytecode, a native library or an executable, by its name or its content."""
    NESTED_ARCHIVE = "nested_archive"
    """An archive inside the package (by its name or its content), code the scan cannot see."""
    DISALLOWED_FILE_TYPE = "disallowed_file_type"
    """A file type outside ``ALLOWED_SUFFIXES``."""
    UNICODE_EXTRA_FIELD = "unicode_extra_field"
    """An Info-ZIP Unicode path or comment extra field: a second name extractors may use."""
    DUPLICATE_ENTRY = "duplicate_entry"
    NAME_COLLISION = "name_collision"
    """Two names that are one file on a case-insensitive or normalising file system."""
    OVERLAPPING_ENTRIES = "overlapping_entries"
    UNLISTED_DATA = "unlisted_data"
    """Bytes that belong to no listed entry: a prefix (polyglot file) or a hidden member."""
    MULTIPLE_TOP_LEVEL_FOLDERS = "multiple_top_level_folders"
    TOP_LEVEL_NOT_A_FOLDER = "top_level_not_a_folder"
    TOP_LEVEL_NAME_MISMATCH = "top_level_name_mismatch"
    MANIFEST_MISSING = "manifest_missing"
    MANIFEST_TOO_LARGE = "manifest_too_large"
    MEMBER_MISSING = "member_missing"
    MEMBER_TOO_LARGE = "member_too_large"


class ArchiveRejected(DomainError):
    """An uploaded archive that must not be unpacked; ``code`` is an ``ArchiveProblem``."""

    def __init__(self, problem: ArchiveProblem, detail: str) -> None:
        super().__init__(problem, detail)
        self.problem = problem

    def __reduce__(self) -> tuple[type["ArchiveRejected"], tuple[ArchiveProblem, str]]:
        return type(self), (self.problem, self.detail)


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what an upload may unpack to (settings ``archive_*`` override them)."""

    max_entries: int = 2000
    max_total_uncompressed: int = 200 * 1024**2
    max_ratio: float = 100.0
    max_manifest_bytes: int = 64 * 1024


@dataclass(frozen=True)
class EntryInfo:
    """What the central directory says about one entry (as ``zipfile.ZipInfo`` gives it)."""

    name: str
    is_dir: bool
    file_size: int
    compress_size: int
    flag_bits: int
    external_attr: int
    create_system: int
    compress_type: int = ZIP_DEFLATED
    extra_ids: tuple[int, ...] = ()
    """The header IDs of the entry's extra fields in the central directory, in order."""


@dataclass(frozen=True)
class ArchiveSummary:
    manifest_path: str
    python_files: list[str]
    total_uncompressed: int
    entry_count: int


def check_entries(
    entries: list[EntryInfo], technical_name: str, limits: ArchiveLimits
) -> ArchiveSummary:
    """Refuse an archive that is unsafe to unpack or is not a package of ``technical_name``.

    Entries are checked one by one first (names, kinds, sizes), so a hostile entry is
    reported as what it is rather than as a layout problem it also causes.
    """
    if not entries:
        raise ArchiveRejected(ArchiveProblem.EMPTY_ARCHIVE, "the archive has no entries")
    if len(entries) > limits.max_entries:
        raise ArchiveRejected(
            ArchiveProblem.TOO_MANY_ENTRIES,
            f"the archive has {len(entries)} entries, more than {limits.max_entries}",
        )
    paths = [_check_entry(entry, limits) for entry in entries]
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_total_uncompressed:
        raise ArchiveRejected(
            ArchiveProblem.TOO_LARGE_UNCOMPRESSED,
            f"the archive unpacks to {total} bytes, more than {limits.max_total_uncompressed}",
        )
    compressed = sum(entry.compress_size for entry in entries)
    if total >= RATIO_MIN_SIZE and total > limits.max_ratio * max(compressed, 1):
        raise ArchiveRejected(
            ArchiveProblem.COMPRESSION_RATIO_EXCEEDED,
            f"the archive unpacks to {total} bytes from {compressed}, "
            f"more than {limits.max_ratio:g} times",
        )
    files = [path for path, entry in zip(paths, entries, strict=True) if not entry.is_dir]
    if not files:
        raise ArchiveRejected(ArchiveProblem.EMPTY_ARCHIVE, "the archive holds no files")
    _check_unique(paths, entries)
    manifest_path = _check_layout(paths, entries, technical_name)
    manifest = next(e for p, e in zip(paths, entries, strict=True) if p == manifest_path)
    if manifest.file_size > limits.max_manifest_bytes:
        raise ArchiveRejected(
            ArchiveProblem.MANIFEST_TOO_LARGE,
            f"{manifest_path} is {manifest.file_size} bytes, more than {limits.max_manifest_bytes}",
        )
    return ArchiveSummary(
        manifest_path=manifest_path,
        python_files=[p for p in files if p.lower().endswith(PYTHON_SUFFIXES)],
        total_uncompressed=total,
        entry_count=len(entries),
    )


def _check_entry(entry: EntryInfo, limits: ArchiveLimits) -> str:
    """Check one entry on its own; returns its path without a folder's trailing slash."""
    path = _check_name(entry.name, entry.is_dir)
    check_extra_fields(path, entry.extra_ids)
    _check_kind(entry, path)
    if not entry.is_dir:
        _check_file_type(path)
    if entry.flag_bits & ENCRYPTION_FLAGS:
        raise ArchiveRejected(ArchiveProblem.ENCRYPTED_ENTRY, f"{path!r} is encrypted")
    if entry.compress_type not in SUPPORTED_COMPRESSION:
        raise ArchiveRejected(
            ArchiveProblem.UNSUPPORTED_COMPRESSION,
            f"{path!r} uses compression method {entry.compress_type}; "
            "only stored and deflated entries are accepted",
        )
    if entry.file_size < 0 or entry.compress_size < 0:
        raise ArchiveRejected(ArchiveProblem.CORRUPT_ARCHIVE, f"{path!r} has a negative size")
    if entry.is_dir and entry.file_size:
        raise ArchiveRejected(
            ArchiveProblem.CORRUPT_ARCHIVE,
            f"folder entry {path!r} carries {entry.file_size} bytes of data",
        )
    if entry.compress_type == ZIP_STORED and entry.compress_size != entry.file_size:
        raise ArchiveRejected(
            ArchiveProblem.SIZE_MISMATCH,
            f"{path!r} is stored uncompressed but declares {entry.file_size} bytes "
            f"unpacked and {entry.compress_size} packed",
        )
    if entry.file_size >= RATIO_MIN_SIZE and entry.file_size > limits.max_ratio * max(
        entry.compress_size, 1
    ):
        raise ArchiveRejected(
            ArchiveProblem.COMPRESSION_RATIO_EXCEEDED,
            f"{path!r} unpacks to {entry.file_size} bytes from {entry.compress_size}, "
            f"more than {limits.max_ratio:g} times",
        )
    return path


def extra_field_ids(name: str, extra: bytes) -> tuple[int, ...]:
    """The header IDs in an extra-field block (central directory or local header); a block
    whose fields overrun it, or that ends in stray bytes, is ``corrupt_archive``."""
    ids: list[int] = []
    position = 0
    while position < len(extra):
        if position + 4 > len(extra):
            raise ArchiveRejected(
                ArchiveProblem.CORRUPT_ARCHIVE, f"the extra fields of {name!r} end in stray bytes"
            )
        header_id = int.from_bytes(extra[position : position + 2], "little")
        size = int.from_bytes(extra[position + 2 : position + 4], "little")
        position += 4 + size
        if position > len(extra):
            raise ArchiveRejected(
                ArchiveProblem.CORRUPT_ARCHIVE,
                f"an extra field of {name!r} runs past the end of its block",
            )
        ids.append(header_id)
    return tuple(ids)


def check_extra_fields(name: str, extra_ids: tuple[int, ...]) -> None:
    """Refuse Unicode path and comment extra fields, whatever they say: an extractor that
    honours one writes another file than the name every check here judged."""
    found = sorted(UNICODE_EXTRAS.intersection(extra_ids))
    if found:
        raise ArchiveRejected(
            ArchiveProblem.UNICODE_EXTRA_FIELD,
            f"{name!r} carries a Unicode {'path' if found[0] == UNICODE_PATH_EXTRA else 'comment'}"
            f" extra field (0x{found[0]:04x}), which extractors may use instead of its name",
        )


def _check_file_type(path: str) -> None:
    """Only the file types of ``ALLOWED_SUFFIXES`` (or none); compiled code and archives
    are named as what they are."""
    last = path.rsplit("/", 1)[-1].lower()
    dot = last.rfind(".")
    suffix = last[dot:] if dot > 0 else ""
    if last.endswith(COMPILED_SUFFIXES):
        raise ArchiveRejected(
            ArchiveProblem.COMPILED_CODE,
            f"{path!r} is compiled code, which the code scan cannot read; ship sources only",
        )
    if last.endswith(NESTED_ARCHIVE_SUFFIXES):
        raise ArchiveRejected(
            ArchiveProblem.NESTED_ARCHIVE,
            f"{path!r} is an archive inside the package, which the code scan cannot read; "
            "ship its files unpacked",
        )
    if suffix and suffix not in ALLOWED_SUFFIXES:
        raise ArchiveRejected(
            ArchiveProblem.DISALLOWED_FILE_TYPE,
            f"{path!r} is a {suffix!r} file, which module packages may not hold",
        )


def check_member_content(name: str, head: bytes, tail: bytes) -> None:
    """Refuse a member whose bytes are an archive or a native program, whatever its name:
    ``head`` is its first ``SNIFF_HEAD_BYTES`` bytes, ``tail`` at least its last
    ``SNIFF_TAIL_BYTES`` (the whole content when shorter). A zip end record anywhere in the
    tail counts, since ``zipimport`` finds one there behind any prefix (a polyglot image)."""
    for magic, what in _ARCHIVE_MAGIC:
        if head.startswith(magic):
            raise ArchiveRejected(
                ArchiveProblem.NESTED_ARCHIVE, f"{name!r} is {what} inside the package"
            )
    if b"PK\x05\x06" in tail[-SNIFF_TAIL_BYTES:]:
        raise ArchiveRejected(
            ArchiveProblem.NESTED_ARCHIVE,
            f"{name!r} ends in a zip archive, which Python can import from",
        )
    if head[257:262] == b"ustar":
        raise ArchiveRejected(
            ArchiveProblem.NESTED_ARCHIVE, f"{name!r} is a tar archive inside the package"
        )
    if head.startswith(b"BZh") and head[3:4].isdigit() and head[4:10] == b"1AY&SY":
        raise ArchiveRejected(
            ArchiveProblem.NESTED_ARCHIVE, f"{name!r} is a bzip2 archive inside the package"
        )
    for magic, what in _EXECUTABLE_MAGIC:
        if head.startswith(magic):
            raise ArchiveRejected(ArchiveProblem.COMPILED_CODE, f"{name!r} is {what}")
    if head.startswith(b"MZ") and len(head) >= 64:
        pe_at = int.from_bytes(head[60:64], "little")
        if head[pe_at : pe_at + 4] == b"PE\x00\x00":
            raise ArchiveRejected(ArchiveProblem.COMPILED_CODE, f"{name!r} is a Windows program")


def _check_name(name: str, is_dir: bool) -> str:
    if not name:
        raise ArchiveRejected(ArchiveProblem.INVALID_PATH, "an entry has an empty name")
    if len(name) > MAX_NAME_LENGTH:
        raise ArchiveRejected(
            ArchiveProblem.NAME_TOO_LONG,
            f"an entry name is {len(name)} characters long, more than {MAX_NAME_LENGTH}",
        )
    for char in name:
        if _bad_character(char):
            raise ArchiveRejected(
                ArchiveProblem.INVALID_NAME_CHARACTER,
                f"{name!r} contains the character U+{ord(char):04X}",
            )
    if "\\" in name:
        raise ArchiveRejected(
            ArchiveProblem.BACKSLASH_IN_PATH,
            f"{name!r} contains a backslash, which Windows reads as a folder separator",
        )
    if name.startswith("/"):
        raise ArchiveRejected(ArchiveProblem.ABSOLUTE_PATH, f"{name!r} is an absolute path")
    if len(name) >= 2 and name[1] == ":" and name[0].isascii() and name[0].isalpha():
        raise ArchiveRejected(ArchiveProblem.DRIVE_LETTER, f"{name!r} starts with a drive")
    if ":" in name:
        raise ArchiveRejected(
            ArchiveProblem.INVALID_NAME_CHARACTER,
            f"{name!r} contains ':', which names an alternate data stream on Windows",
        )
    path = name[:-1] if is_dir and name.endswith("/") else name
    for part in path.split("/"):
        if part and set(part) == {"."} and len(part) > 1:
            raise ArchiveRejected(
                ArchiveProblem.PATH_TRAVERSAL, f"{name!r} climbs out of its folder"
            )
    for part in path.split("/"):
        if part in ("", "."):
            raise ArchiveRejected(
                ArchiveProblem.INVALID_PATH, f"{name!r} has an empty or '.' path component"
            )
        if part[-1] in ". ":
            raise ArchiveRejected(
                ArchiveProblem.INVALID_PATH,
                f"{name!r} has a component ending in a dot or space, which Windows drops",
            )
        if len(part.encode()) > MAX_COMPONENT_BYTES:
            raise ArchiveRejected(
                ArchiveProblem.NAME_TOO_LONG,
                f"{name!r} has a component longer than {MAX_COMPONENT_BYTES} bytes",
            )
    if is_dir != name.endswith("/"):
        raise ArchiveRejected(
            ArchiveProblem.CORRUPT_ARCHIVE, f"{name!r} is a folder without a trailing slash"
        )
    return path


def _bad_character(char: str) -> bool:
    """Controls (NUL included), lone surrogates, bidi overrides that disguise a name, and
    what Windows refuses in a name (':' is judged later, as a drive or a data stream)."""
    return (
        (char in WINDOWS_FORBIDDEN and char != ":")
        or char in BIDI_CONTROLS
        or unicodedata.category(char) in ("Cc", "Cs")
    )


def _check_kind(entry: EntryInfo, path: str) -> None:
    """Refuse links, devices, fifos and sockets, whichever system wrote the entry."""
    mode = entry.external_attr >> 16
    kind = stat.S_IFMT(mode)
    dos = entry.external_attr & 0xFFFF
    if kind == stat.S_IFLNK or dos & DOS_REPARSE_POINT:
        raise ArchiveRejected(ArchiveProblem.SYMLINK, f"{path!r} is a symbolic link")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR) or dos & DOS_DEVICE:
        raise ArchiveRejected(
            ArchiveProblem.SPECIAL_FILE,
            f"{path!r} is a {_kind_name(kind)}, not a regular file or folder",
        )
    if kind == stat.S_IFDIR and not entry.is_dir:
        raise ArchiveRejected(
            ArchiveProblem.SPECIAL_FILE, f"{path!r} is a file entry marked as a folder"
        )


def _kind_name(kind: int) -> str:
    names = {
        stat.S_IFCHR: "character device",
        stat.S_IFBLK: "block device",
        stat.S_IFIFO: "named pipe",
        stat.S_IFSOCK: "socket",
    }
    return names.get(kind, "special file")


def _check_unique(paths: list[str], entries: list[EntryInfo]) -> None:
    """Refuse two entries for one path, on this file system or a case-insensitive one."""
    seen: dict[str, str] = {}
    folded: dict[str, str] = {}
    files = {p for p, e in zip(paths, entries, strict=True) if not e.is_dir}
    for path in paths:
        if path in seen:
            raise ArchiveRejected(
                ArchiveProblem.DUPLICATE_ENTRY, f"{path!r} appears more than once"
            )
        seen[path] = path
        key = unicodedata.normalize("NFC", path).casefold()
        if key in folded:
            raise ArchiveRejected(
                ArchiveProblem.NAME_COLLISION,
                f"{folded[key]!a} and {path!a} are the same file on case-insensitive "
                "or Unicode-normalising file systems",
            )
        folded[key] = path
        parts = path.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in files:
                raise ArchiveRejected(
                    ArchiveProblem.DUPLICATE_ENTRY,
                    f"{parent!r} is a file and also the folder of {path!r}",
                )


def _check_layout(paths: list[str], entries: list[EntryInfo], technical_name: str) -> str:
    """One top-level folder named ``technical_name`` holding the manifest; returns its path."""
    for path, entry in zip(paths, entries, strict=True):
        if "/" not in path and not entry.is_dir:
            raise ArchiveRejected(
                ArchiveProblem.TOP_LEVEL_NOT_A_FOLDER,
                f"{path!r} sits at the top of the archive; everything belongs in one "
                f"folder named {technical_name!r}",
            )
    tops = sorted({path.split("/", 1)[0] for path in paths})
    if len(tops) > 1:
        raise ArchiveRejected(
            ArchiveProblem.MULTIPLE_TOP_LEVEL_FOLDERS,
            f"the archive has {len(tops)} top-level folders ({', '.join(map(repr, tops[:5]))});"
            f" it must have only {technical_name!r}",
        )
    if tops[0] != technical_name:
        raise ArchiveRejected(
            ArchiveProblem.TOP_LEVEL_NAME_MISMATCH,
            f"the top-level folder is {tops[0]!r}; it must be the technical name "
            f"{technical_name!r}",
        )
    manifest_path = f"{technical_name}/{MANIFEST_NAME}"
    if not any(p == manifest_path and not e.is_dir for p, e in zip(paths, entries, strict=True)):
        raise ArchiveRejected(
            ArchiveProblem.MANIFEST_MISSING, f"the archive has no {manifest_path}"
        )
    return manifest_path
