"""Enterprises, the prefixes allocated to them, and their credentials."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from ._credential_cache import VerifiedCredentials, stamp_file_for
from ._errors import AlreadyExists, Conflict, EntityNotFound, InvalidInput, Unauthenticated
from ._grammar import Handle, Prefix
from ._principal import Principal, Role, parse_username
from ._quotas import QuotaService
from ._records import RecordService
from ._text import control_character
from ._throttle import BEARER, LoginThrottle
from ._values import HandleValue, Permissions, decode_values
from ._writer import ADMIN_SUFFIX, WriteTransaction
from .storage.database import Database
from .storage.repository import Credentials, Enterprises
from .trust.cipher import CipherKey
from .trust.secrets import hash_secret, hash_token, new_secret, new_token, verify_secret

__all__ = [
    "EnterpriseInfo",
    "EnterpriseService",
    "IssuedCredential",
    "NativeCredential",
]

FIRST_CREDENTIAL_INDEX = 300
MAX_NAME_LENGTH = 200  # the enterprises.name column
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
# What an unknown identity's password is checked against, so that it costs the same scrypt as a
# known one's: the hash of a random password nobody knows (the parameters of ``hash_secret``).
_UNKNOWN_HASH = (
    "scrypt$16384$8$1$4ycoWjsQaXGghm1U3z4HOA==$E+74Hr5AqW2zJyAlw1DuNXXiyJUc6ZrczJJl7c8V5lc="
)
_SECKEY_PERMISSIONS = Permissions(public_read=False)
# The ADMIN record only mirrors the credential table, which never leaves the node (its hashes and
# verifiers are restored from the node's own backups, not the top-level node's copies): shipping
# the mirror would only tell the top-level node which credential usernames exist.
SHIP_ADMIN_RECORD = False


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """A credential as issued: the only time its password is known."""

    username: str
    password: str
    prefix: str

    def as_dict(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password, "prefix": self.prefix}


@dataclass(frozen=True, slots=True)
class NativeCredential:
    """An enterprise credential as the native protocol checks it: who it is, and its secret
    (``None`` for a public-key credential, or one issued before the credential key was set)."""

    principal: Principal
    secret: str | None


@dataclass(frozen=True, slots=True)
class EnterpriseInfo:
    id: int
    name: str
    prefixes: tuple[str, ...]
    credentials: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "prefixes": list(self.prefixes),
            "credentials": list(self.credentials),
        }


def _admin_handle(prefix: str) -> str:
    return f"{prefix}/{ADMIN_SUFFIX}"


class EnterpriseService:
    """Allocates prefixes under the node's code, issues and checks credentials."""

    def __init__(
        self,
        db: Database,
        records: RecordService,
        node_code: Prefix,
        cipher_key: CipherKey | None = None,
        throttle: LoginThrottle | None = None,
        verified: VerifiedCredentials | None = None,
    ) -> None:
        self.db = db
        self.records = records
        self.writer = records.writer
        self.node_code = node_code
        self.cipher_key = cipher_key
        self.throttle = throttle or LoginThrottle()
        # Set by the node: the prefix quota checked before each allocation.
        self.quotas: QuotaService | None = None
        # Passwords and tokens proven recently (keyed so a dump reveals none of them).
        # (Not ``verified or …``: an empty cache is falsy.)
        self.verified = (
            verified if verified is not None else VerifiedCredentials(stamp_file_for(db))
        )

    async def create(
        self, name: str, prefix: str | None = None, *, password: str | None = None
    ) -> tuple[EnterpriseInfo, IssuedCredential]:
        """Create an enterprise with one prefix (the next free one unless given) and a credential.

        The credential's password is random unless ``password`` is given (the demo uses that).
        """
        name = name.strip()
        if not name:
            raise InvalidInput("enterprise name is empty")
        if len(name) > MAX_NAME_LENGTH:
            raise InvalidInput(f"enterprise name is longer than {MAX_NAME_LENGTH} characters")
        control = control_character(name)
        if control is not None:
            raise InvalidInput(f"enterprise name contains the control character {control}")
        async with self.writer.transaction() as tx:
            enterprise = await Enterprises(tx.session).create(name, tx.now)
            allocated = await self._allocate(tx, enterprise.id, prefix)
            credential = await self._issue(tx, enterprise.id, allocated, password)
            await tx.audit(
                "enterprise.create",
                allocated,
                {"enterprise": enterprise.id, "name": name, "credential": credential.username},
            )
        return EnterpriseInfo(enterprise.id, name, (allocated,), (credential.username,)), credential

    async def allocate_prefix(self, enterprise_id: int, prefix: str | None = None) -> str:
        """Give an existing enterprise one more prefix."""
        async with self.writer.transaction() as tx:
            if await Enterprises(tx.session).get(enterprise_id) is None:
                raise EntityNotFound(f"enterprise {enterprise_id} does not exist")
            allocated = await self._allocate(tx, enterprise_id, prefix)
            issued = await self._issue(tx, enterprise_id, allocated)
            await tx.audit(
                "prefix.allocate",
                allocated,
                {"enterprise": enterprise_id, "credential": issued.username},
            )
        # The enterprise's remembered principals lack the new prefix.
        self.verified.bump()
        return allocated

    async def _allocate(self, tx: WriteTransaction, enterprise_id: int, prefix: str | None) -> str:
        enterprises = Enterprises(tx.session)
        if self.quotas is not None:
            await self.quotas.check_new_prefix(tx.session, enterprise_id)
        if prefix is None:
            taken = await enterprises.prefixes_like(str(self.node_code))
            depth = len(self.node_code.segments) + 1
            numbers = [
                int(p.split(".")[-1])
                for p in taken
                if p.count(".") + 1 == depth and p.split(".")[-1].isdigit()
            ]
            parsed = self.node_code.child(str(max(numbers, default=0) + 1))
        else:
            parsed = Prefix.parse(prefix)
            if not parsed.is_within(self.node_code) or parsed == self.node_code:
                raise InvalidInput(
                    f"prefix {parsed} is not under this node's code {self.node_code}"
                )
            if await enterprises.prefix(str(parsed)) is not None:
                raise AlreadyExists(f"prefix {parsed} is already allocated")
        allocated = str(parsed)
        try:
            await enterprises.add_prefix(allocated, enterprise_id, tx.now)
        except IntegrityError as exc:
            raise AlreadyExists(f"prefix {allocated} is already allocated") from exc
        na_values = [
            HandleValue(
                100,
                "HS_ADMIN",
                "admin",
                {"handle": f"0.NA/{self.node_code}", "index": 200, "permissions": "011111110011"},
                timestamp=tx.stamp,
            ),
        ]
        # The top-level node learns of the prefix before its 0.NA record.
        await tx.append_change(
            "prefix.create", allocated, {"prefix": allocated, "enterprise_id": enterprise_id}
        )
        await tx.put(Handle.parse(f"0.NA/{allocated}"), na_values, None, new=True)
        return allocated

    async def _issue(
        self, tx: WriteTransaction, enterprise_id: int, prefix: str, password: str | None = None
    ) -> IssuedCredential:
        """A new credential ``<index>:<prefix>/ADMIN`` at an index no credential ever had.

        Its HS_SECKEY value marks the index in use. A revoked credential keeps its row (and so
        its username) for the record, so its index is never given out again: the revoked secret
        can never name a live credential.
        """
        admin = _admin_handle(prefix)
        row = await tx.lock(admin)
        values = list(decode_values(row.values)) if row else []
        stamp = tx.stamp
        if not values:
            values.append(
                HandleValue(
                    100,
                    "HS_ADMIN",
                    "admin",
                    {
                        "handle": admin,
                        "index": FIRST_CREDENTIAL_INDEX,
                        "permissions": "011111110011",
                    },
                    timestamp=stamp,
                )
            )
        credentials = Credentials(tx.session)
        used = {v.index for v in values} | await credentials.indexes_under(admin)
        index = FIRST_CREDENTIAL_INDEX
        while index in used:
            index += 1
        values.append(
            HandleValue(
                index,
                "HS_SECKEY",
                "string",
                "held by the node, hashed",
                timestamp=stamp,
                permissions=_SECKEY_PERMISSIONS,
            )
        )
        values.sort(key=lambda v: v.index)
        await tx.put(Handle.parse(admin), values, None, new=row is None, ship=SHIP_ADMIN_RECORD)
        password = password or new_secret()
        username = f"{index}:{admin}"
        verifier = self.cipher_key.seal(username, password) if self.cipher_key else None
        native = self.cipher_key.seal_secret(username, password) if self.cipher_key else None
        try:
            await credentials.add(
                enterprise_id, username, hash_secret(password), tx.now, verifier, native
            )
        except IntegrityError as exc:
            raise Conflict(f"credential {username} was issued at the same time; try again") from exc
        return IssuedCredential(username, password, prefix)

    async def issue_credential(self, prefix: str) -> IssuedCredential:
        """Another credential for the enterprise that holds ``prefix``."""
        parsed = str(Prefix.parse(prefix))
        async with self.writer.transaction() as tx:
            row = await Enterprises(tx.session).prefix(parsed)
            if row is None or row.enterprise_id is None:
                raise EntityNotFound(f"prefix {parsed} is not allocated")
            issued = await self._issue(tx, row.enterprise_id, parsed)
            await tx.audit(
                "credential.issue",
                _admin_handle(parsed),
                {"enterprise": row.enterprise_id, "username": issued.username},
            )
        return issued

    async def register_public_key(self, prefix: str, key_data: bytes) -> str:
        """A new identity ``<index>:<prefix>/ADMIN`` proven by the private half of ``key_data``.

        ``key_data`` is HS_PUBKEY data (Handle's binary key form). The key is published as an
        HS_PUBKEY value at a credential index never given out before (so a revoked key's index is
        never reused, as a revoked password's is not); the identity has no password.
        """
        parsed = str(Prefix.parse(prefix))
        admin = _admin_handle(parsed)
        async with self.writer.transaction() as tx:
            row = await Enterprises(tx.session).prefix(parsed)
            if row is None or row.enterprise_id is None:
                raise EntityNotFound(f"prefix {parsed} is not allocated")
            record = await tx.lock(admin)
            values = list(decode_values(record.values)) if record else []
            credentials = Credentials(tx.session)
            used = {v.index for v in values} | await credentials.indexes_under(admin)
            index = FIRST_CREDENTIAL_INDEX
            while index in used:
                index += 1
            key = base64.b64encode(key_data).decode()
            values.append(HandleValue(index, "HS_PUBKEY", "base64", key, timestamp=tx.stamp))
            values.sort(key=lambda v: v.index)
            await tx.put(
                Handle.parse(admin), values, None, new=record is None, ship=SHIP_ADMIN_RECORD
            )
            username = f"{index}:{admin}"
            try:
                # No password opens it: the hash is of a random secret nobody is told.
                await credentials.add(
                    row.enterprise_id, username, hash_secret(new_secret()), tx.now
                )
            except IntegrityError as exc:
                raise Conflict(f"credential {username} was issued at the same time") from exc
            await tx.audit(
                "credential.add_key",
                admin,
                {
                    "enterprise": row.enterprise_id,
                    "username": username,
                    "key_sha256": hashlib.sha256(key_data).hexdigest()[:16],
                },
            )
        return username

    async def native_credential(
        self, index: int, handle: Handle, *, client: str = ""
    ) -> NativeCredential | None:
        """The live credential ``index:handle`` and its secret, or None when there is none.

        Throttled as password logins are (``failed_native`` counts a wrong answer).
        """
        normalised = f"{index}:{handle}"
        self.throttle.check(normalised, client)
        async with self.db.read() as session:
            row = await Credentials(session).by_username(normalised)
            if row is None or row.revoked_at is not None:
                return None
            prefixes = await Enterprises(session).prefixes_of(row.enterprise_id)
        secret = (
            self.cipher_key.open_secret(normalised, row.native_secret) if self.cipher_key else None
        )
        principal = Principal(Role.ENTERPRISE, normalised, row.enterprise_id, frozenset(prefixes))
        return NativeCredential(principal, secret)

    def native_result(self, username: str, client: str, ok: bool) -> None:
        """Count a native-protocol answer for ``username`` against the login limits."""
        if ok:
            self.throttle.succeeded(username, client)
        else:
            self.throttle.failed(username, client)

    async def revoke_credential(self, username: str) -> None:
        """Revoke a credential and every token issued for it."""
        index, handle = parse_username(username)
        normalised = f"{index}:{handle}"
        async with self.writer.transaction() as tx:
            credentials = Credentials(tx.session)
            row = await credentials.by_username(normalised)
            if row is None or row.revoked_at is not None:
                raise EntityNotFound(
                    f"credential {normalised} does not exist or is revoked already"
                )
            await credentials.revoke(row.id, tx.now)
            admin = await tx.lock(str(handle))
            if admin is not None:
                kept = [v for v in decode_values(admin.values) if v.index != index]
                await tx.put(handle, kept, None, new=False, ship=SHIP_ADMIN_RECORD)
            await tx.audit(
                "credential.revoke",
                str(handle),
                {"enterprise": row.enterprise_id, "username": normalised},
            )
        # Other processes on PostgreSQL forgot it with the ADMIN record's invalidation.
        self.verified.bump()

    async def holder_of(self, prefix: str) -> int | None:
        """The id of the enterprise that holds ``prefix``, if it is allocated."""
        async with self.db.read() as session:
            row = await Enterprises(session).prefix(str(Prefix.parse(prefix)))
        return None if row is None else row.enterprise_id

    async def list(self) -> list[EnterpriseInfo]:
        async with self.db.read() as session:
            enterprises = Enterprises(session)
            prefixes = await enterprises.all_prefixes()
            result = []
            for row in await enterprises.all():
                creds = await Credentials(session).of_enterprise(row.id)
                active = tuple(c.username for c in creds if c.revoked_at is None)
                result.append(
                    EnterpriseInfo(row.id, row.name, tuple(prefixes.get(row.id, ())), active)
                )
        return result

    async def authenticate(self, username: str, password: str, *, client: str = "") -> Principal:
        """Check a username and password; the principal carries the enterprise's prefixes.

        ``client`` (the caller's address) and the identity count failed logins; over their
        limits, ``TooManyAttempts``. An unknown or revoked identity costs the same scrypt as a
        wrong password, so the time taken does not tell which identities exist.
        """
        index, handle = parse_username(username)
        normalised = f"{index}:{handle}"
        self.throttle.check(normalised, client)
        key = self.verified.key("basic", normalised, password)
        remembered = self.verified.get(key)
        if remembered is not None:
            self.throttle.succeeded(normalised, client)
            return remembered
        generation = self.verified.generation
        async with self.db.read() as session:
            row = await Credentials(session).by_username(normalised)
            stored = row.secret_hash if row is not None else _UNKNOWN_HASH
            matches = await asyncio.to_thread(verify_secret, password, stored)
            if row is None or row.revoked_at is not None or not matches:
                self.throttle.failed(normalised, client)
                raise Unauthenticated(f"unknown credential or wrong password for {normalised}")
            prefixes = await Enterprises(session).prefixes_of(row.enterprise_id)
        self.throttle.succeeded(normalised, client)
        principal = Principal(Role.ENTERPRISE, normalised, row.enterprise_id, frozenset(prefixes))
        self.verified.put(key, principal, generation)
        return principal

    def remembered(self, username: str, password: str, *, client: str = "") -> Principal | None:
        """``authenticate`` without I/O: the principal when this password was proven recently
        (throttled as ``authenticate``), ``None`` when only ``authenticate`` can tell."""
        index, handle = parse_username(username)
        normalised = f"{index}:{handle}"
        remembered = self.verified.get(self.verified.key("basic", normalised, password))
        if remembered is None:
            return None
        self.throttle.check(normalised, client)
        self.throttle.succeeded(normalised, client)
        return remembered

    def remembered_token(self, token: str) -> Principal | None:
        """``principal_for_token`` without I/O, when the token was proven recently."""
        return self.verified.get(self.verified.key("token", "", token))

    def remembered_header(self, header: bytes, *, client: str = "") -> Principal | None:
        """``remembered`` or ``remembered_token`` for a whole ``Authorization`` header as
        received (see ``remember_header``): no decoding, no I/O; HTTP Basic is throttled as
        ``authenticate``."""
        principal = self.verified.get(self.verified.header_key(header))
        if principal is None:
            return None
        if header[:6].lower() == b"basic ":
            identity = principal.username or ""
            self.throttle.check(identity, client)
            self.throttle.succeeded(identity, client)
        return principal

    def remember_header(
        self, header: bytes, principal: Principal, generation: int, token: str | None = None
    ) -> None:
        """Remember that ``header`` proved ``principal`` (which ``remembered``, or for a bearer
        ``token`` ``remembered_token``, returned since ``generation`` was taken); a token's
        header is remembered no longer than the token lives."""
        expires = None
        if token is not None:
            found = self.verified.entry(self.verified.key("token", "", token))
            if found is None:
                return
            expires = found[1]
        self.verified.put(self.verified.header_key(header), principal, generation, expires)

    async def authenticate_cipher(
        self, username: str, cipher: str, *, client: str = ""
    ) -> Principal:
        """Check an SNMS cipher login (``sha256(sha256(password) + day)``) for a credential.

        Throttled and equal in cost for known and unknown identities, as ``authenticate``.
        """
        index, handle = parse_username(username)
        normalised = f"{index}:{handle}"
        if self.cipher_key is None:
            raise Unauthenticated(
                "cipher login is not enabled on this node (the operator sets IDNODE_CREDENTIAL_KEY)"
            )
        self.throttle.check(normalised, client)
        async with self.db.read() as session:
            row = await Credentials(session).by_username(normalised)
            stored = row.cipher_verifier if row is not None else None
            # Without a verifier, one of a password nobody knows: opening it costs the same.
            stored = stored or self.cipher_key.seal(normalised, new_secret())
            matches = self.cipher_key.check(normalised, stored, cipher)
            if row is None or row.revoked_at is not None or not row.cipher_verifier or not matches:
                self.throttle.failed(normalised, client)
                raise Unauthenticated(
                    f"unknown credential, wrong cipher password, or no cipher verifier for"
                    f" {normalised} (credentials issued before the credential key was set"
                    " need a new credential)"
                )
            prefixes = await Enterprises(session).prefixes_of(row.enterprise_id)
        self.throttle.succeeded(normalised, client)
        return Principal(Role.ENTERPRISE, normalised, row.enterprise_id, frozenset(prefixes))

    async def issue_token(self, principal: Principal, lifetime: timedelta) -> tuple[str, datetime]:
        """A bearer token for an authenticated enterprise credential."""
        token = new_token()
        expires = datetime.now(UTC) + lifetime
        async with self.db.write() as session:
            row = await Credentials(session).by_username(principal.username or "")
            if row is None:
                raise Unauthenticated("credential disappeared")
            await Credentials(session).add_token(hash_token(token), row.id, expires)
        return token, expires

    async def revoke_token(self, token: str) -> None:
        """Forget a bearer token (a console logout); an unknown token is no error."""
        async with self.db.write() as session:
            credentials = Credentials(session)
            found = await credentials.by_token(hash_token(token), datetime.now(UTC))
            await credentials.delete_token(hash_token(token))
        if found is not None:
            await self._credentials_changed(found[0].username)

    async def change_password(
        self, principal: Principal, current: str, new: str, *, client: str = ""
    ) -> None:
        """The caller's own credential gets password ``new``, proven by ``current``.

        Checked (and throttled) as a login is; the credential's tokens are dropped, so other
        sessions opened with the old password end. The SNMS cipher and native verifiers are
        sealed anew, so every login form takes the new password at once.
        """
        username = principal.username or ""
        if principal.role is not Role.ENTERPRISE:
            raise Unauthenticated("only an enterprise credential has a password to change")
        if len(new) < MIN_PASSWORD_LENGTH or len(new) > MAX_PASSWORD_LENGTH:
            raise InvalidInput(
                f"the new password must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters"
            )
        if control_character(new) is not None:
            raise InvalidInput("the new password contains a control character")
        if new == current:
            raise InvalidInput("the new password is the same as the current one")
        await self.authenticate(username, current, client=client)
        verifier = self.cipher_key.seal(username, new) if self.cipher_key else None
        native = self.cipher_key.seal_secret(username, new) if self.cipher_key else None
        secret_hash = await asyncio.to_thread(hash_secret, new)
        async with self.db.write() as session:
            credentials = Credentials(session)
            row = await credentials.by_username(username)
            if row is None or row.revoked_at is not None:
                raise Unauthenticated(f"credential {username} is revoked")
            await credentials.set_secret(row.id, secret_hash, verifier, native)
        await self._credentials_changed(username)

    async def _credentials_changed(self, username: str) -> None:
        """Forget remembered credentials in every process, as a revocation does: here and on
        the same SQLite file by the stamp, elsewhere through the record invalidation channel
        (the credential's ``…/ADMIN`` handle, which the caches watch)."""
        self.verified.bump()
        await self.records.writer.notify([str(parse_username(username)[1])])

    def check_bearer(self, client: str) -> None:
        """Raise ``TooManyAttempts`` while ``client`` is over its limit of unknown bearer
        tokens: before any token of its is taken, the admin token included."""
        self.throttle.check(BEARER, client)

    async def principal_for_token(self, token: str, *, client: str | None = None) -> Principal:
        """The holder of a token from ``/identity/token``. With ``client`` (a bearer token sent
        to an API) guesses are throttled: refused while that client is over its limit
        (``check_bearer``), an unknown token counted against it."""
        if client is not None:
            self.check_bearer(client)
        key = self.verified.key("token", "", token)
        remembered = self.verified.get(key)
        if remembered is not None:
            return remembered
        generation = self.verified.generation
        now = datetime.now(UTC)
        async with self.db.read() as session:
            found = await Credentials(session).by_token(hash_token(token), now)
            if found is None:
                if client is not None:
                    self.throttle.failed(BEARER, client)
                raise Unauthenticated("the bearer token is unknown, revoked or expired")
            row, expires = found
            prefixes = await Enterprises(session).prefixes_of(row.enterprise_id)
        principal = Principal(Role.ENTERPRISE, row.username, row.enterprise_id, frozenset(prefixes))
        self.verified.put(key, principal, generation, expires.timestamp())
        return principal
