"""Group commit: concurrent writes share one database transaction and one COMMIT.

A commit costs a round trip and an fsync whatever it holds, so writers that arrive together
share one. A *batch* is one ``Database.write()`` session run by a leader task; each caller that
joins it (a *member*) gets a turn, one at a time, and runs its block on the shared session
inside a SAVEPOINT of its own. A member whose block raises rolls back to its savepoint and gets
its error alone; its neighbours carry on. The first member needs no savepoint (two round
trips a lone writer does not pay): the transaction holds nothing else yet, so when its block
raises the whole transaction rolls back and the callers queued behind it start a new one. When
a member's turn ends and nobody is queued for the next, the batch closes: ``before_commit``
(PostgreSQL's NOTIFY, delivered with the COMMIT), ONE COMMIT, then the listeners hear once about
every handle the batch changed, then every member returns. Nothing
is acknowledged before that COMMIT: if it (or anything else the members share) fails, every
member gets the error.

Callers that arrive while a batch commits form the next one, whose leader waits only until the
previous batch stops taking turns: on PostgreSQL it runs on another connection while the
previous one commits; on SQLite it waits for the write lock as any writer does. Only one batch
takes turns at a time, so two batches never wait on each other's row locks in a cycle (the
batch that commits waits for nothing). A batch takes at most ``MAX_MEMBERS`` members, so a
steady stream of writers cannot keep one open for ever, and stays within PostgreSQL's cache
of 64 subtransaction ids per backend (one per member that wrote). A lone caller waits for
nobody: no timer, a batch closes as soon as no caller is queued.

Who joins: every ``RecordWriter.transaction()``. The bulk forms (``BatchService``, and the
imports through it) ask for ``transaction(alone=True)``, as does a transaction opened inside a
member's block: a bulk write already spreads one commit over many rows, and would hold the
turn, and the single writes queued behind it, for as long as it runs. Whatever uses
``Database.write()`` directly keeps a transaction of its own.

Cancellation. A member cancelled while it waits for its turn leaves the queue. A member
cancelled while its block runs rolls back to its savepoint and the batch carries on, unless the
cancellation interrupted one of its statements mid-flight: the driver then drops the connection
and with it the batch's transaction, so the members that ran before fail with ``Unavailable``
(nothing of the batch is committed) and those still queued move to a new batch. A member
cancelled while it waits for the COMMIT stops waiting, but its write stays in the batch and
commits with it.

Failpoint (tests only): ``IDNODE_FAILPOINT=exit-after-commit:N`` makes the process print the
handles of its Nth committed batch to stderr and exit at once (``os._exit``), after the COMMIT
and before the listeners or any member hear of it, as a crash there would. A write committed as
one statement of its own (``RecordWriter.insert_alone``) counts as a batch (``count_commit``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import sys
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from ._errors import Unavailable
from .storage.database import Database, _outages_unavailable

__all__ = ["MAX_MEMBERS", "GroupCommit", "Member"]

MAX_MEMBERS = 64
FAILPOINT_ENV = "IDNODE_FAILPOINT"
_EXIT_AFTER_COMMIT = "exit-after-commit:"

# Set while a member's block runs: a write opened inside it runs in a transaction of its own.
in_member: contextvars.ContextVar[bool] = contextvars.ContextVar("in_member", default=False)


class Member:
    """One caller's share of a batch: the shared session, and the handles its block changed."""

    __slots__ = ("changed", "session")

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.changed: dict[str, None] = {}


class _Batch:
    """One shared transaction: its queue of turns, what it changed, how it ended."""

    def __init__(self, loop: asyncio.AbstractEventLoop, previous: _Batch | None) -> None:
        self.loop = loop
        self.previous = previous
        self.members = 0
        # A caller's future: True when its turn comes, False to try the next batch instead.
        self.queue: deque[asyncio.Future[bool]] = deque()
        self.session: AsyncSession | None = None
        self.changed: dict[str, None] = {}
        self.ran = False  # whether a member has had its turn
        # Set when a member's failure broke the shared transaction: no more turns.
        self.broken: BaseException | None = None
        self.open = True
        self.closed = asyncio.Event()
        # None once committed and announced, else the error every member gets.
        self.done: asyncio.Future[BaseException | None] = loop.create_future()

    def next_turn(self) -> None:
        """Give the turn to the next queued caller, or close the batch when nobody is queued."""
        while self.queue and self.broken is None:
            turn = self.queue.popleft()
            if not turn.done():
                turn.set_result(True)
                return
        self.close()

    def close(self) -> None:
        """Take no more turns; whoever still waits for one is sent elsewhere."""
        self.open = False
        for turn in self.queue:
            if not turn.done():
                turn.set_result(False)
        self.queue.clear()
        self.closed.set()


class _RolledBack(Exception):
    """The leader rolls back a batch a member broke; its cause is what the others get."""


class GroupCommit:
    """Hands out turns in shared write transactions; see the module's docstring."""

    def __init__(
        self,
        db: Database,
        notify: Callable[[Sequence[str]], Awaitable[None]],
        *,
        max_members: int = MAX_MEMBERS,
        before_commit: Callable[[AsyncSession, Sequence[str]], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self._notify = notify
        # Runs on the batch's session just before its COMMIT (PostgreSQL's NOTIFY, so that
        # other processes hear of the batch atomically with it, and never of a rolled-back one).
        self.before_commit = before_commit
        self.max_members = max_members
        # The batch taking members, per event loop (as ``Database`` keeps its writer lock).
        self._open: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch] = (
            weakref.WeakKeyDictionary()
        )
        self._leaders: set[asyncio.Task[None]] = set()
        self._commits = 0

    @asynccontextmanager
    async def member(self) -> AsyncIterator[Member]:
        """A turn on a shared session inside a savepoint; returns once the batch committed.

        Raises what the block raised (its savepoint rolled back), or the batch's own error.
        """
        batch = await self._turn()
        session = batch.session
        assert session is not None
        member = Member(session)
        # The first member's savepoint is the transaction itself: nothing else is in it yet.
        first = not batch.ran
        batch.ran = True
        token = in_member.set(True)
        try:
            # As inside ``Database.write()``: a storage outage is ``Unavailable``, not a crash.
            with _outages_unavailable():
                if first:
                    yield member
                    await session.flush()
                else:
                    async with session.begin_nested():
                        yield member
            batch.changed.update(member.changed)
        except BaseException as exc:
            if first:
                # Roll the whole transaction back; the callers queued behind start a new one.
                batch.broken = exc
            elif batch.broken is None and await _lost(session):
                batch.broken = Unavailable("storage is unavailable: the write transaction was lost")
            raise
        finally:
            in_member.reset(token)
            # A later member loads rows afresh, not as an earlier member's block left them.
            session.expunge_all()
            batch.next_turn()
        # Cancelled here, the caller stops waiting; its write commits with the batch.
        error = await asyncio.shield(batch.done)
        if error is not None:
            raise error

    async def _turn(self) -> _Batch:
        """Join the open batch (or start one) and wait for a turn in it."""
        loop = asyncio.get_running_loop()
        while True:
            batch = self._open.get(loop)
            if batch is None or not batch.open or batch.members >= self.max_members:
                batch = self._open[loop] = _Batch(loop, batch)
                leader = loop.create_task(self._lead(batch), name="idnode-group-commit")
                self._leaders.add(leader)
                leader.add_done_callback(self._leaders.discard)
            batch.members += 1
            turn: asyncio.Future[bool] = loop.create_future()
            batch.queue.append(turn)
            try:
                go = await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled() and turn.result():
                    batch.next_turn()  # the turn came as the caller was cancelled: pass it on
                raise
            if go:
                return batch
            if batch.broken is None:
                # The batch failed before this caller's turn came (no session): its error.
                error = await asyncio.shield(batch.done)
                if error is not None:
                    raise error
            # Else a member broke the batch before this caller's turn: try the next one.

    async def _lead(self, batch: _Batch) -> None:
        """Open the batch's transaction, hand out its turns, commit, announce."""
        error: BaseException | None = None
        leader_error: BaseException | None = None
        try:
            if batch.previous is not None:
                await batch.previous.closed.wait()
                batch.previous = None
            async with self.db.write() as session:
                batch.session = session
                batch.next_turn()
                await batch.closed.wait()
                if batch.broken is not None:
                    raise _RolledBack from batch.broken
                if batch.changed and self.before_commit is not None:
                    await self.before_commit(session, list(batch.changed))
            self._forget(batch)
            self._commits += 1
            _failpoint_after_commit(self._commits, batch.changed)
            if batch.changed:
                await self._notify(list(batch.changed))
        except _RolledBack as exc:
            error = exc.__cause__
        except BaseException as exc:  # every member gets it, whatever it is
            error = leader_error = exc
        finally:
            batch.close()
            self._forget(batch)
            batch.done.set_result(error)
        if isinstance(leader_error, asyncio.CancelledError):
            raise leader_error

    def count_commit(self, changed: dict[str, None]) -> None:
        """A write committed outside any batch, before anyone hears of it: the failpoint counts it."""
        self._commits += 1
        _failpoint_after_commit(self._commits, changed)

    def _forget(self, batch: _Batch) -> None:
        if self._open.get(batch.loop) is batch:
            del self._open[batch.loop]


async def _lost(session: AsyncSession) -> bool:
    """Whether the shared transaction is gone: its connection dropped (a statement cancelled)."""
    try:
        return (await session.connection()).invalidated
    except Exception:
        return True


@functools.cache
def _failpoint_commits() -> int | None:
    """``N`` of ``IDNODE_FAILPOINT=exit-after-commit:N``, read once; tests only."""
    value = os.environ.get(FAILPOINT_ENV, "")
    if not value.startswith(_EXIT_AFTER_COMMIT):
        return None
    return int(value.removeprefix(_EXIT_AFTER_COMMIT))


def _failpoint_after_commit(commits: int, changed: dict[str, None]) -> None:
    """Crash as a power cut would, right after a COMMIT, when the failpoint says so."""
    if _failpoint_commits() == commits:
        print(f"failpoint: committed {' '.join(changed)}", file=sys.stderr, flush=True)
        os._exit(70)
