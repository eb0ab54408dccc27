"""The API's error type and the JSON error body every failure uses."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, MethodNotAllowed

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """A request failure reported to the client as `{"error": {"code", "message", "field"?}}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        # Top-level members sent beside "error", such as the per-event rejections.
        self.extra = extra or {}


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[Response, int]:
    """Build the JSON error body and its status."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field

    return jsonify({"error": error, **(extra or {})}), status


# Codes for the HTTP errors Flask and werkzeug raise themselves.
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
    503: "unavailable",
}


def register_error_handlers(app: Flask) -> None:
    """Make every error the app returns a JSON body, including werkzeug's own 404 and 405."""

    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError) -> tuple[Response, int]:
        return error_response(exc.status, exc.code, exc.message, exc.field, exc.extra)

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        response, status = error_response(status, _HTTP_CODES.get(status, "http_error"), exc.description or exc.name)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response, status

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> tuple[Response, int]:
        logger.exception("Request failed with an unexpected error: %s", exc)
        return error_response(
            500, "internal_error", "The server failed to handle the request; see its log for details."
        )
