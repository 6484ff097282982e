"""The served OpenAPI document as a test oracle: a real answer must match the
schema the document gives for its path, method and status."""

import json

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from smpprouter.http.rest import openapi_document

DOCUMENT = json.loads(openapi_document())
_URI = "urn:smpprouter:openapi"
_REGISTRY = Registry().with_resource(
    _URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))


def _pointer(*parts):
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def check_answer(path, method, status, value):
    """Raise jsonschema.ValidationError unless value is what the document says
    path answers to method with status (a path with an id: its template)."""
    template = path
    if path.startswith("/resources/v1/messaging/"):
        template = "/resources/v1/messaging/{transid}"
    operation = DOCUMENT["paths"][template].get(method.lower())
    if status == 405 and operation is None:   # a method the path does not serve
        _validate({"$ref": "#/components/schemas/Error"}, value)
        return
    if operation is None:
        raise AssertionError("%s %s is not documented" % (method, template))
    if str(status) not in operation["responses"]:
        raise AssertionError("%s %s: %d is not documented" % (method, template, status))
    pointer = _pointer("paths", template, method.lower(), "responses", str(status), "content",
                       "application/json", "schema")
    _validate({"$ref": _URI + "#/" + pointer}, value)


def _validate(schema, value):
    if "$ref" in schema and schema["$ref"].startswith("#"):
        schema = {"$ref": _URI + schema["$ref"]}
    Draft202012Validator(schema, registry=_REGISTRY).validate(value)


def check_media(path, method, status, content_type):
    """Raise AssertionError unless the document gives content_type (its media
    type, parameters dropped) for a non-JSON answer of path, method, status."""
    operation = DOCUMENT["paths"][path][method.lower()]
    media = content_type.split(";", 1)[0].strip()
    documented = operation["responses"].get(str(status), {}).get("content", {})
    if media not in documented:
        raise AssertionError("%s %s %d: %s is not documented (%s)"
                             % (method, path, status, media, ", ".join(documented)))
