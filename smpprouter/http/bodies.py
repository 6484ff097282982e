"""The JSON bodies the HTTP face writes itself: answers, and every 4xx/5xx error."""

import json

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def json_body(payload) -> bytes:
    return _dumps(payload).encode("utf-8")


def error_body(status: int, message: str, field: str | None = None) -> bytes:
    """{"error": {"code": status, "message": ..., "field": ...}}: field names what
    in the request was wrong, when one thing was."""
    error = {"code": status, "message": message}
    if field is not None:
        error["field"] = field
    return json_body({"error": error})
