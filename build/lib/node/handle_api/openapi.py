"""The Handle REST request bodies as the OpenAPI document shows them (the endpoints parse them)."""

from __future__ import annotations

from typing import Any

from httpapi import json_body

__all__ = ["PUT_BODY", "VALUE_SCHEMA"]

VALUE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["index", "type", "data"],
    "properties": {
        "index": {"type": "integer", "minimum": 1, "description": "unique within the handle"},
        "type": {"type": "string", "examples": ["URL", "EMAIL", "HS_ADMIN"]},
        "data": {
            "description": "a string, or {format, value}",
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "required": ["value"],
                    "properties": {
                        "format": {
                            "type": "string",
                            "enum": ["string", "base64", "hex", "admin", "vlist", "site", "key"],
                            "default": "string",
                        },
                        "value": {},
                    },
                },
            ],
        },
        "ttl": {"type": "integer", "minimum": 0, "default": 86400, "description": "seconds"},
        "permissions": {
            "type": "string",
            "pattern": "^[01]{1,12}$",
            "description": "admin read, admin write, public read, public write (e.g. 1110)",
        },
    },
}

PUT_BODY = json_body(
    {
        "description": "{handle?, values}, or the list of values alone",
        "oneOf": [
            {
                "type": "object",
                "required": ["values"],
                "properties": {
                    "handle": {"type": "string", "description": "must be the handle of the URL"},
                    "values": {"type": "array", "items": VALUE_SCHEMA},
                },
            },
            {"type": "array", "items": VALUE_SCHEMA},
        ],
    },
    {
        "record": {
            "handle": "88.118.8/sensor-42",
            "values": [
                {
                    "index": 1,
                    "type": "URL",
                    "data": {"format": "string", "value": "https://example.com/p/1"},
                },
                {"index": 2, "type": "EMAIL", "data": "qa@example.com", "ttl": 3600},
            ],
        },
        "values only": [{"index": 1, "type": "URL", "data": "https://example.com/p/1"}],
    },
    description="The handle's values (all of them, or those named by ?index= with overwrite)",
)
