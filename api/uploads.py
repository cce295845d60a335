"""Streaming a multipart package upload to disk: hashed on the way, capped, never whole
in memory. The framework's own form parsing would read the entire body first."""

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from domain.errors import DomainError, ErrorKind
from integrations.private_files import private_directory

if TYPE_CHECKING:  # python-multipart declares its callback types for type checkers only
    from python_multipart.multipart import MultipartCallbacks

TEXT_FIELD_MAX = 20_000
FILE_FIELD = "file"


class UploadTooLarge(DomainError):
    kind = ErrorKind.TOO_LARGE

    def __init__(self, limit: int) -> None:
        super().__init__("upload_too_large", f"the package exceeds {limit} bytes")


@dataclass(frozen=True)
class FormLimits:
    """What a multipart upload may hold besides its file: ``parts`` in all (the file
    included), ``text_bytes`` over all its text parts together."""

    parts: int
    text_bytes: int


@dataclass
class ReceivedUpload:
    path: Path
    sha256: str
    size: int
    filename: str | None
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str | None = None
    filename: str | None = None
    text: bytearray = field(default_factory=bytearray)


class _Receiver:
    """Callbacks for python-multipart: the ``file`` part goes to disk, others to memory."""

    def __init__(self, handle: BinaryIO, max_bytes: int, limits: FormLimits) -> None:
        self.handle = handle
        self.max_bytes = max_bytes
        self.limits = limits
        self.parts_seen = 0
        self.text_bytes = 0
        self.digest = hashlib.sha256()
        self.size = 0
        self.filename: str | None = None
        self.files_seen = 0
        self.fields: dict[str, str] = {}
        self.part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()

    def on_part_begin(self) -> None:
        self.parts_seen += 1
        if self.parts_seen > self.limits.parts:
            raise DomainError(
                "too_many_parts", f"send at most {self.limits.parts} parts", ErrorKind.TOO_LARGE
            )
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        disposition = self.part.headers.get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        name = options.get(b"name")
        filename = options.get(b"filename")
        self.part.name = name.decode("utf-8", "replace") if name is not None else None
        self.part.filename = filename.decode("utf-8", "replace") if filename else None
        if self.part.name == FILE_FIELD:
            self.files_seen += 1
            if self.files_seen > 1:
                raise DomainError("one_file_only", "send exactly one file part named 'file'")
            self.filename = self.part.filename

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.part.name == FILE_FIELD:
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise UploadTooLarge(self.max_bytes)
            self.digest.update(chunk)
            self.handle.write(chunk)
            return
        self.part.text += chunk
        if len(self.part.text) > TEXT_FIELD_MAX:
            raise DomainError("field_too_long", f"form fields hold at most {TEXT_FIELD_MAX} bytes")
        self.text_bytes += len(chunk)
        if self.text_bytes > self.limits.text_bytes:
            raise DomainError(
                "fields_too_large",
                f"the text fields hold at most {self.limits.text_bytes} bytes together",
                ErrorKind.TOO_LARGE,
            )

    def on_part_end(self) -> None:
        if self.part.name and self.part.name != FILE_FIELD:
            try:
                text = self.part.text.decode("utf-8")
            except UnicodeDecodeError:
                raise DomainError("field_not_utf8", f"{self.part.name} is not UTF-8") from None
            if "\x00" in text:
                raise DomainError("field_has_nul", f"{self.part.name} contains a NUL byte")
            self.fields[self.part.name] = text

    def callbacks(self) -> "MultipartCallbacks":
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }


async def receive_package(
    request: Request, *, max_bytes: int, limits: FormLimits, into: Path
) -> ReceivedUpload:
    """Stream the ``file`` part of a multipart body into a new file under ``into``; the
    other parts, within ``limits``, to memory."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise DomainError(
            "multipart_required", "send the package as multipart/form-data with a 'file' part"
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise UploadTooLarge(max_bytes)
    private_directory(into)
    descriptor, name = tempfile.mkstemp(prefix="upload-", suffix=".zip", dir=into)
    path = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            receiver = _Receiver(handle, max_bytes, limits)
            parser = MultipartParser(boundary, receiver.callbacks())
            try:
                async for chunk in request.stream():
                    parser.write(chunk)
                parser.finalize()
            except FormParserError as error:
                raise DomainError(
                    "malformed_multipart", "the multipart body is malformed"
                ) from error
        if receiver.files_seen != 1:
            raise DomainError("file_required", "send the package in a part named 'file'")
        if receiver.size == 0:
            raise DomainError("empty_upload", "the package is empty")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ReceivedUpload(
        path=path,
        sha256=receiver.digest.hexdigest(),
        size=receiver.size,
        filename=receiver.filename,
        fields=receiver.fields,
    )
