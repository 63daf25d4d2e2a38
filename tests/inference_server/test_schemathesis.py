"""Property-based run of the inference server against its own OpenAPI document (schemathesis):
whatever the generated requests, no 5xx, and every answer's status code, content type and body
are the ones the document declares. Real server, real models; generated chats and speech are
kept short (the cost of a request is not under test here), examples bounded per operation.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _keep_it_short(case) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    for field in ("max_tokens", "max_completion_tokens"):
        if isinstance(body.get(field), int) and body[field] > 8:
            body[field] = 8
    if isinstance(body.get("input"), str) and case.operation.path == "/v1/audio/speech":
        body["input"] = body["input"][:80]


def test_every_answer_is_the_one_the_document_declares(inference_url):
    schema = schemathesis.openapi.from_url(f"{inference_url}/openapi.json")
    failures: list[str] = []
    operations = 0
    statuses: set[int] = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def conforms(case) -> None:
            _keep_it_short(case)
            response = case.call(base_url=inference_url, timeout=120)
            statuses.add(response.status_code)
            case.validate_response(response, checks=CHECKS)

        try:
            conforms()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - this operation's minimal failing example
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert operations >= 12 and {200, 400} <= statuses
    assert not failures, "\n\n".join(failures)
