"""The ``idnode keys``, ``idnode root`` and ``idnode verify`` commands."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry import InvalidInput
from registry.trust import ALGORITHMS, key_handle

from ..keys import default_alg
from .signing import install_certificate, key_store, publish_enterprise_certificate, publish_keys

# The web stack, the resolver and the top-level simulator are imported by the commands that use
# them: building the parser (and every process that imports the ``idnode`` command, a sealing
# process included) needs none of them.
if TYPE_CHECKING:
    from registry import HandleValue

    from ..context import NodeContext
    from ..settings import Settings

__all__ = ["add_trust_commands"]

VERIFY_SECRET_ENV = "IDNODE_VERIFY_SECRET"


def _emit(args: argparse.Namespace, result: Any, text: str) -> None:
    print(json.dumps(result, ensure_ascii=False) if args.json else text)


async def _in_context(settings: Settings, work: Callable[[Any], Any]) -> Any:
    from ..context import NodeContext

    async with NodeContext(settings) as context:
        return await work(context)


async def _publish_keys(context: NodeContext) -> list[HandleValue]:
    return await publish_keys(context.records, context.settings)


async def cmd_keys_generate(args: argparse.Namespace, settings: Settings) -> None:
    store = key_store(settings)
    alg = args.alg or default_alg(settings)
    info = store.rotate(alg) if args.rotate else store.generate(alg)
    _emit(
        args,
        info.as_dict(),
        f"key {info.kid} ({info.alg}) at HS_PUBKEY index {info.index}"
        + (" — active: it signs from now on" if info.active else ""),
    )


async def cmd_keys_list(args: argparse.Namespace, settings: Settings) -> None:
    infos = key_store(settings).list()
    lines = [
        f"{'*' if i.active else ' '} {i.kid}  {i.alg:8} {i.index}  {i.created}"
        f"  {'certified' if i.certificate else 'no certificate'}"
        for i in infos
    ]
    _emit(args, {"keys": [i.as_dict() for i in infos]}, "\n".join(lines) or "no keys yet")


async def cmd_keys_publish(args: argparse.Namespace, settings: Settings) -> None:
    values = await _in_context(settings, _publish_keys)
    handle = key_handle(settings.node_code)
    _emit(
        args,
        {"handle": handle, "values": [v.to_json() for v in values]},
        f"published {len(values)} key and certificate value(s) at {handle}",
    )


async def cmd_keys_install_cert(args: argparse.Namespace, settings: Settings) -> None:
    kid = install_certificate(settings, Path(args.file).read_text())
    await _in_context(settings, _publish_keys)
    _emit(args, {"kid": kid}, f"installed the certificate of key {kid} and published it")


async def cmd_keys_certify(args: argparse.Namespace, settings: Settings) -> None:
    from toplevel import ROOT_FILE, RootAuthority

    authority = RootAuthority.open(args.root_dir)
    store = key_store(settings)
    certified = []
    for info in store.list():
        if info.certificate and not args.renew:
            continue
        jwk = store.load(info.kid).public_jwk()
        cert = authority.certify_node(
            settings.node_code, jwk, info.index, lifetime_seconds=args.days * 86400
        )
        store.set_certificate(info.kid, cert)
        certified.append(info.kid)
    await _in_context(settings, _publish_keys)
    _emit(
        args,
        {"certified": certified, "root": str(Path(args.root_dir) / ROOT_FILE)},
        f"certified {len(certified)} key(s) with the root in {args.root_dir}; published them",
    )


async def cmd_keys_certify_enterprise(args: argparse.Namespace, settings: Settings) -> None:
    try:
        jwk = json.loads(Path(args.jwk).read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read a JWK from {args.jwk}: {exc}") from exc

    async def work(context: Any) -> tuple[str, str]:
        return await publish_enterprise_certificate(
            context, args.prefix, jwk, key_index=args.index, lifetime_seconds=args.days * 86400
        )

    handle, cert = await _in_context(settings, work)
    _emit(args, {"handle": handle, "certificate": cert}, cert)


async def cmd_root_init(args: argparse.Namespace, settings: Settings) -> None:
    from toplevel import ROOT_FILE, RootAuthority

    authority = RootAuthority.open(args.dir, alg=args.alg or default_alg(settings))
    path = Path(args.dir) / ROOT_FILE
    path.write_text(authority.root_certificate() + "\n")
    _emit(
        args,
        {"root": str(path), "id": authority.root_id},
        f"root {authority.root_id}: certificate in {path} (verifiers use --root {path})",
    )


def _verify_credential(args: argparse.Namespace) -> tuple[str, str] | None:
    """``--user`` with its secret from the environment (never the command line), if given."""
    if not args.user:
        return None
    if not args.url:
        raise InvalidInput("--user reads the record over HTTP: pass --url too")
    secret = os.environ.get(VERIFY_SECRET_ENV)
    if not secret:
        raise InvalidInput(f"--user {args.user} needs its secret in {VERIFY_SECRET_ENV}")
    return args.user, secret


async def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from .verify import read_root, verify_handle

    root = await read_root(args.root or settings.trust_root_file)
    credential = _verify_credential(args)
    if args.url:
        verdict = await verify_handle(
            args.handle,
            root,
            url=args.url,
            max_chain=settings.trust_max_chain,
            credential=credential,
        )
    else:

        async def work(context: Any) -> Any:
            return await verify_handle(
                args.handle, root, records=context.records, max_chain=settings.trust_max_chain
            )

        verdict = await _in_context(settings, work)
    if verdict.trusted:
        text = (
            f"TRUSTED {verdict.handle}: values {list(verdict.verified)} verified;"
            f" chain {'; '.join(verdict.signers)}"
        )
    else:
        text = f"NOT TRUSTED {verdict.handle}:\n" + "\n".join(
            f"  [{p.code}] {p.message}" for p in verdict.problems
        )
    _emit(args, verdict.as_dict(), text)
    return 0 if verdict.trusted else 2


def add_trust_commands(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register the trust commands on the ``idnode`` parser."""
    keys = sub.add_parser("keys", help="the node's signing keys and certificates")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    algs = (
        f"one of {', '.join(ALGORITHMS)} (EdDSA means Ed25519, SM2 means SM2256: SM2 with SM3);"
        " default ES256, SM2 when IDNODE_CRYPTO_PROFILE=gm"
    )
    generate = add(
        keys_sub, "generate", cmd_keys_generate, "generate a key pair (PKCS#8 PEM, 0600)"
    )
    generate.add_argument("--alg", default=None, help=algs)
    generate.set_defaults(rotate=False)
    rotate = add(keys_sub, "rotate", cmd_keys_generate, "generate a key that signs from now on")
    rotate.add_argument("--alg", default=None, help=algs)
    rotate.set_defaults(rotate=True)
    add(keys_sub, "list", cmd_keys_list, "list the keys; * marks the active one")
    add(keys_sub, "publish", cmd_keys_publish, "publish keys and certificates at 0.NA/<code>")
    install = add(
        keys_sub, "install-cert", cmd_keys_install_cert, "install a certificate from the top level"
    )
    install.add_argument("file", help="file holding the certificate JWS")
    certify = add(
        keys_sub,
        "certify",
        cmd_keys_certify,
        "certify the node's keys with a local root (tests, demos)",
    )
    certify.add_argument("--root-dir", required=True, help="directory made by idnode root init")
    certify.add_argument("--days", type=int, default=730)
    certify.add_argument("--renew", action="store_true", help="re-certify keys already certified")
    enterprise = add(
        keys_sub,
        "certify-enterprise",
        cmd_keys_certify_enterprise,
        "certify an enterprise's key for handles under its prefix",
    )
    enterprise.add_argument("--prefix", required=True)
    enterprise.add_argument("--jwk", required=True, help="file holding the enterprise's public JWK")
    enterprise.add_argument("--index", type=int, default=300, help="its HS_PUBKEY index")
    enterprise.add_argument("--days", type=int, default=365)

    root = sub.add_parser("root", help="a local root certificate authority (tests, demos)")
    root_sub = root.add_subparsers(dest="action", required=True)
    init = add(root_sub, "init", cmd_root_init, "create a root key and self-signed certificate")
    init.add_argument("--dir", required=True)
    init.add_argument("--alg", default=None, help=algs)

    verify = add(sub, "verify", cmd_verify, "verify a record's signatures and certificate chain")
    verify.add_argument("handle")
    verify.add_argument("--url", help="the node to resolve at; the local store when omitted")
    verify.add_argument(
        "--user",
        help="read as this identity (e.g. 300:88.118.8/ADMIN, its secret in"
        f" {VERIFY_SECRET_ENV}) to verify the non-public values too",
    )
    verify.add_argument(
        "--root",
        help="root certificate file or URL, e.g. the top-level's /root"
        " (default IDNODE_TRUST_ROOT_FILE)",
    )
