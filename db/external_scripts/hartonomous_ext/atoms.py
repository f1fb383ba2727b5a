"""What an atom's content is: the policy sp_IngestAtom and sp_SemanticSearch follow on both engines.

One place for the rules both engines' procedures once wrote separately (a regular expression on
PostgreSQL, LIKE patterns on SQL Server): whether a content type is a media type, which modality
it names, whether text content is UTF-8, and the short text preview search results carry. The
procedures call these through their engine's binding (dbo.fn_ClassifyContent on PostgreSQL, the
procedures' own sp_execute_external_script on SQL Server).
"""

from __future__ import annotations

import re

from hartonomous_ext.policy import PREVIEW_CHARACTERS

MAX_CONTENT_TYPE_LENGTH = 128

# RFC 6838 restricted names: type "/" subtype, then optional ";" parameters
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(;[\x20-\x7e]*)?$")
TEXT_TYPES = frozenset({"application/json", "application/xml", "application/x-ndjson", "application/yaml"})
MODEL_TYPES = frozenset({"application/onnx", "application/x-onnx", "application/x-safetensors", "application/x-gguf",
                         "application/x-pytorch", "application/vnd.hartonomous.model"})


def classify(content_type: str | None) -> tuple[str, str]:
    """The content type as stored (lower case, trimmed) and its modality: text, image, audio,
    model or binary. A value that is not a media type is a ValueError."""
    spelled = (content_type or "").strip().lower()
    if not spelled or len(spelled) > MAX_CONTENT_TYPE_LENGTH or not _MEDIA_TYPE.match(spelled):
        shown = "NULL" if content_type is None else repr(content_type[:MAX_CONTENT_TYPE_LENGTH])
        raise ValueError(f"ContentType {shown} is not a media type such as text/plain")
    base = spelled.split(";", 1)[0].strip()
    if base.startswith("text/") or base in TEXT_TYPES:
        return spelled, "text"
    if base.startswith("image/"):
        return spelled, "image"
    if base.startswith("audio/"):
        return spelled, "audio"
    if base in MODEL_TYPES:
        return spelled, "model"
    return spelled, "binary"


def decode_text(content: bytes) -> str:
    """Text content as a string: UTF-8, without NUL characters (which neither engine's text types
    hold). Anything else is a ValueError."""
    try:
        text = bytes(content).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"Content is not valid UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise ValueError("Content is not valid UTF-8 text (it holds a NUL character)")
    return text


def preview(payload: bytes | None, characters: int = PREVIEW_CHARACTERS) -> str | None:
    """The first characters of a text atom's payload, as search results show it."""
    if payload is None:
        return None
    return bytes(payload)[: characters * 4].decode("utf-8", errors="ignore")[:characters]
