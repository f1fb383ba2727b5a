"""What an atom's content is: the policy sp_IngestAtom(s) and sp_SemanticSearch follow on both engines.

One place for the rules both engines' procedures once wrote separately (a regular expression on
PostgreSQL, LIKE patterns on SQL Server): whether a content type is a media type, which modality
it names, whether text content is UTF-8, and the short text preview search results carry. The
procedures call these through their engine's binding (dbo.fn_ClassifyContent on PostgreSQL, the
procedures' own sp_execute_external_script on SQL Server).
"""

from __future__ import annotations

import re

from hartonomous_ext.policy import MAX_DIMENSION, MAX_TEXT_CHARS, PREVIEW_CHARACTERS

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


def prepare_batch(contents, content_types, wanted, embed, model_named: bool) -> list[tuple]:
    """What sp_IngestAtoms needs of Python for a batch, in one pass: per item its content type as
    stored, its modality, the first problem it has (None when it has none) and, where `wanted`
    asks for it, its embedding as float32 bytes. `embed` maps a list of texts to their vectors (the
    model the procedure was asked for). A non-text item that wants an embedding gets none, or is a
    problem when a model was named (`model_named`): the models embed text. Nothing is embedded
    while any item has a problem, since the procedure then refuses the whole batch. Identical texts
    are embedded once."""
    prepared, texts = [], {}
    for position, (content, content_type) in enumerate(zip(contents, content_types)):
        try:
            stored_type, modality = classify(content_type)
            text = decode_text(content) if modality == "text" else None
            if wanted[position] and modality != "text" and model_named:
                raise ValueError(f"the model embeds text; this atom is {modality}")
            if wanted[position] and text is not None and len(text) > MAX_TEXT_CHARS:
                raise ValueError(f"Content has {len(text)} characters, more than the {MAX_TEXT_CHARS} an embedding reads")
            if wanted[position] and text is not None and not text.strip():
                raise ValueError("Content is only white space: there is nothing to embed")
        except ValueError as exc:
            prepared.append([None, None, str(exc), None])
            continue
        if wanted[position] and text is not None:
            texts.setdefault(text, []).append(position)
        prepared.append([stored_type, modality, None, None])
    if texts and not any(item[2] for item in prepared):
        vectors = embed(list(texts))
        if vectors.shape[1] > MAX_DIMENSION:
            raise ValueError(f"the model gives embeddings of {vectors.shape[1]} dimensions; "
                             f"the store keeps at most {MAX_DIMENSION}")
        for vector, positions in zip(vectors, texts.values()):
            data = vector.astype("<f4").tobytes()
            for position in positions:
                prepared[position][3] = data
    return [tuple(item) for item in prepared]


def prepare_batch_json(atoms_json: str, wanted_mask: str, embed, model_named: bool, landmarks=None,
                       with_json: bool = False) -> str:
    """prepare_batch for SQL Server's sp_IngestAtoms, whose script takes and gives text: the batch
    as the procedure got it (its JSON array of {"content": base64, "contentType": ...}, already
    checked in T-SQL) and a "1"/"0" per item for whether it wants an embedding; back a JSON array,
    in item order, of {"ordinal", "contentType", "modality", "problem", "embedding" (base64)}, with
    "embeddingJson" (the text SQL Server 2025 casts to VECTOR) when `with_json`, and, when
    `landmarks` (mean, axes, bucket width, centroids of dbo.SpatialLandmarks) are given and of the
    embeddings' dimension, each embedding's "x", "y", "z", "bucketX", "bucketY", "bucketZ",
    "vectorBucket" (hartonomous_ext.spatial.project). A problem of the whole batch (the model's
    output) is {"problem": ...}."""
    import base64
    import json

    from hartonomous_ext import spatial
    from hartonomous_ext.vectors import to_json

    items = json.loads(atoms_json)
    contents = [base64.b64decode(item["content"], validate=True) for item in items]
    try:
        prepared = prepare_batch(contents, [item["contentType"] for item in items],
                                 [flag == "1" for flag in wanted_mask], embed, model_named)
    except ValueError as exc:
        return json.dumps({"problem": str(exc)})
    embedded = [position for position, item in enumerate(prepared) if item[3] is not None]
    points = {}
    if landmarks and landmarks[0] and embedded and len(landmarks[0]) == len(prepared[embedded[0]][3]):
        mean, axes, width, centroids = landmarks
        points = dict(zip(embedded, spatial.project([prepared[p][3] for p in embedded], mean, axes, width, centroids)))
    answer = []
    for position, (content_type, modality, problem, embedding) in enumerate(prepared):
        row = {"ordinal": position + 1, "contentType": content_type, "modality": modality, "problem": problem,
               "embedding": base64.b64encode(embedding).decode("ascii") if embedding is not None else None}
        if with_json and embedding is not None:
            row["embeddingJson"] = to_json(embedding)
        if position in points:
            row.update(zip(("x", "y", "z", "bucketX", "bucketY", "bucketZ", "vectorBucket"), points[position]))
        answer.append(row)
    return json.dumps(answer)
