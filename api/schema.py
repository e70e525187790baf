"""The OpenAPI document (drf-spectacular) and the docs page that lists it, both served by IAZE itself."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": str(_("Um token da API (iaze_…), criado no admin ou com manage.py api_token create.")),
        }


class SchemaView(SpectacularAPIView):
    """GET /api/v1/schema/: JSON by default (`?format=yaml` for YAML)."""

    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]


METHODS = ("get", "post", "put", "patch", "delete")


def _fields(schema: dict, body: dict) -> list[tuple[str, str, bool]]:
    """(name, type, required) of a request body's fields, from its component."""
    name = body.get("$ref", "").rsplit("/", 1)[-1]
    component = schema.get("components", {}).get("schemas", {}).get(name, {})
    required = set(component.get("required", []))
    return [
        (field, spec.get("format") or spec.get("type", ""), field in required)
        for field, spec in component.get("properties", {}).items()
    ]


def docs(request):
    """A page listing every endpoint of the schema: no external assets, nothing but this server's HTML."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    endpoints = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [p for p in op.get("parameters", []) if p.get("in") in ("query", "header")]
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema", {})
            fields = _fields(schema, body)
            endpoints.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "params": [(p["name"], p.get("description", "")) for p in params],
                    "body": fields,
                    "answers": sorted(op.get("responses", {})),
                }
            )
    context = {"endpoints": endpoints, "info": schema.get("info", {})}
    return render(request, "api/docs.html", context)
