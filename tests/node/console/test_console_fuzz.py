"""A bounded fuzz of the console's forms: random and mutated form bodies, with the right CSRF
token, to each POST of the console. Whatever is sent, the answer is a page or a redirect with a
status below 500, and nothing half-written. Seeded per case, so a failure replays."""

from __future__ import annotations

import random
import time
from urllib.parse import quote

import pytest

from node import Settings
from registry import Handle

from .consoling import console_client, csrf_of, log_in, seed

SEED = 21
CASES = 150
BUDGET_SECONDS = 25.0
TARGETS = [
    "/console/record/new",
    "/console/record/edit?h=88.118.8/FUZZ",
    "/console/record/delete?h=88.118.8/NOPE",
    "/console/templates",
    "/console/credentials/keys",
    "/console/login",
]
NAMES = [
    "prefix", "suffix", "template", "item-2000", "item-2001", "item-2002", "item-2003",
    "item-2004", "item-2005", "item-2006", "row-0-index", "row-0-type", "row-0-value",
    "row-1-index", "row-1-type", "row-1-value", "body", "public_key", "username", "password",
    "editing", "next", "version", "description", "action", "item-0-name", "item-0-idType",
    "item-0-idIndex", "item-0-kind", "item-0-required", "item-0-minLength", "item-0-pattern",
    "item-0-minimum", "item-0-maximum", "item-0-enum", "item-1-name", "item-1-kind",
]  # fmt: skip
PIECES = [
    "", "0", "1", "-1", "1001", "2000", "99999999999999999999", "88.118.8", "88.118.9", "A",
    "products-1.0", "nope 1", "\x00", "\u202e", "%", "%ZZ", "&", "=", "/", "*?", "2026-02-30",
    "{", "[]", '{"prefix":"88.118.8"}', "https://example.com/", "-----BEGIN PUBLIC KEY-----",
    "电机", "\ud800", "x" * 300, "add", "remove-0", "remove-", "enum", "integer", "date", "1.5",
    "1e999", "nan", "(", "\r\n",
]  # fmt: skip


def _body(rng: random.Random, token: str) -> bytes:
    fields = [("csrf", token)]
    for _ in range(rng.randint(0, 12)):
        value = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 3)))
        fields.append((rng.choice(NAMES), value))
    text = "&".join(
        f"{quote(k, safe='')}={quote(v, safe='', errors='surrogatepass')}"
        if rng.random() < 0.9
        else f"{k}={v}"
        for k, v in fields
    )
    raw = text.encode("utf-8", errors="surrogatepass")
    if rng.random() < 0.1:  # a mangled byte
        position = rng.randrange(len(raw))
        raw = raw[:position] + bytes([rng.randrange(256)]) + raw[position + 1 :]
    return raw


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_random_forms_never_answer_5xx(settings: Settings) -> None:
    async with console_client(settings) as client:
        account = await seed(client)
        assert (await log_in(client, account["username"], account["password"])).is_redirect
        await client.post(
            "/console/record/new",
            data={
                "csrf": csrf_of((await client.get("/console/record/new")).text),
                "suffix": "FUZZ",
                "row-0-index": "1",
                "row-0-type": "URL",
                "row-0-value": "https://example.com/",
            },
        )
        token = csrf_of((await client.get("/console/")).text)
        started = time.monotonic()
        statuses: list[int] = []
        for case in range(CASES):
            if time.monotonic() - started > BUDGET_SECONDS:
                break
            rng = random.Random(SEED * 100_000 + case)
            target = rng.choice(TARGETS)
            if target == "/console/login":
                continue  # a fuzzed login would throttle and log this client out; cases below
            response = await client.post(
                target,
                content=_body(rng, token),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            statuses.append(response.status_code)
            assert response.status_code < 500, (case, target, response.text[:500])
            assert response.headers["content-type"].startswith("text/html") or (
                response.status_code == 303
            ), (case, target)
        # Most cases got past the CSRF check to the forms' own validation.
        assert statuses.count(403) < len(statuses) // 4, statuses
        record = await client.app.state.node.records.get(Handle.parse("88.118.8/FUZZ"))
        assert record is None or record.values  # changed or not, never emptied


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_random_login_forms_never_answer_5xx(settings: Settings) -> None:
    async with console_client(settings) as client:
        await seed(client)
        for case in range(40):
            rng = random.Random(SEED + case)
            form = await client.get("/console/login")
            token = csrf_of(form.text)
            response = await client.post(
                "/console/login",
                content=_body(rng, token),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert response.status_code < 500, (case, response.text[:500])
