"""SQLite (the embedded default) with the threads of one process queueing for the write transaction.

SQLite lets one connection write at a time; the others wait in its busy handler, which sleeps and
retries in no order. When hundreds of a job's threads began their transactions together (a scan of
1,000 hosts at once), some waited past the busy timeout and failed with "database is locked". Here
the threads of a process wait their turn on a lock instead, and only the holder meets SQLite's lock,
which other processes (the web tier, other workers) still share through the busy timeout as before.
"""
import threading

from django.db.backends.sqlite3 import base

_writer = threading.Lock()
TURN_SECONDS = 60  # past this, go on and let SQLite's own busy timeout decide, as without the queue


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer = False

    def _start_transaction_under_autocommit(self):
        turn = _writer.acquire(timeout=TURN_SECONDS)
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            if turn:
                _writer.release()
            raise
        self._holds_writer = turn

    def _end_turn(self):
        if self._holds_writer:
            self._holds_writer = False
            _writer.release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._end_turn()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._end_turn()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._end_turn()
