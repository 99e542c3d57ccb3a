"""Listing: the query of one project's page, its opaque cursor, and the SQL for it.

Pagination is keyset on (sort key, id): a cursor names the last row shown, so rows inserted
while a client pages never shift the rows that existed when paging began (none skipped, none
repeated). The cursor also carries a fingerprint of the filters it was made for.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from protocol.vocabulary import SortKey, SortOrder
from sidecar.store.records import ItemRecord

SORT_COLUMNS: dict[str, str] = {
    SortKey.CREATED_AT: "created_at", SortKey.UPDATED_AT: "updated_at",
    SortKey.NAME: "name_key", SortKey.SIZE: "size_key"}


MAX_CURSOR_CHARS = 1024


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class BadCursor(ValueError):
    """The cursor is not one this server made for this query."""


@dataclass(frozen=True)
class ListQuery:
    project_id: str
    type: str | None = None
    statuses: tuple[str, ...] | None = None
    folder_id: str | None = None
    text: str | None = None
    sort: str = SortKey.CREATED_AT
    order: str = SortOrder.DESC
    limit: int = 100
    after: tuple[int | str, str] | None = None  # (sort key, id) of the last row shown

    @property
    def column(self) -> str:
        return SORT_COLUMNS[self.sort]

    @property
    def needle(self) -> str | None:
        return self.text.casefold() if self.text else None

    def fingerprint(self) -> str:
        parts = [self.project_id, self.type or "", ",".join(sorted(self.statuses or ())),
                 self.folder_id or "", self.needle or "", self.sort, self.order]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]

    def key_of(self, rec: ItemRecord) -> tuple[int | str, str]:
        col = self.column
        value: int | str
        if col == "created_at":
            value = rec.created_at
        elif col == "updated_at":
            value = rec.updated_at
        elif col == "name_key":
            value = rec.name_key
        else:
            value = rec.size_key
        return value, rec.id

    def matches(self, rec: ItemRecord) -> bool:
        """The same filter as the SQL, for records not (yet) in the database."""
        if rec.project_id != self.project_id:
            return False
        if self.type is not None and rec.type != self.type:
            return False
        if self.statuses is not None and rec.status not in self.statuses:
            return False
        if self.folder_id is not None and self.folder_id not in rec.folder_ids:
            return False
        needle = self.needle
        if needle and needle not in rec.search:
            return False
        if self.after is not None:
            key = self.key_of(rec)
            return key < self.after if self.order == SortOrder.DESC else key > self.after
        return True

    # cursor ---------------------------------------------------------------------------
    def cursor_after(self, rec: ItemRecord) -> str:
        value, item_id = self.key_of(rec)
        raw = json.dumps([1, self.fingerprint(), value, item_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def with_cursor(self, cursor: str | None) -> ListQuery:
        if not cursor:
            return self
        # Whatever a client sends as a cursor ends here as BadCursor (invalid_params), never
        # as an exception of the decoder or of SQLite: huge integers (SQLite takes 64 bits),
        # lone surrogates (not UTF-8), deep nesting, any shape but the one we make.
        if len(cursor) > MAX_CURSOR_CHARS:
            raise BadCursor("the cursor is malformed")
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            version, fp, value, item_id = json.loads(raw)
        except (ValueError, TypeError, RecursionError) as exc:
            raise BadCursor("the cursor is malformed") from exc
        if version != 1 or not isinstance(item_id, str) or not _utf8(item_id):
            raise BadCursor("the cursor is malformed")
        if fp != self.fingerprint():
            raise BadCursor("the cursor was made for other filters or another sort")
        want_str = self.column == "name_key"
        if (isinstance(value, str) != want_str or isinstance(value, bool)
                or not isinstance(value, int | str)):
            raise BadCursor("the cursor is malformed")
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise BadCursor("the cursor is malformed")
        if isinstance(value, str) and not _utf8(value):
            raise BadCursor("the cursor is malformed")
        return ListQuery(self.project_id, self.type, self.statuses, self.folder_id, self.text,
                         self.sort, self.order, self.limit, (value, item_id))

    # SQL ------------------------------------------------------------------------------
    def sql(self, columns: str, fetch: int, rowids: str | None = None
            ) -> tuple[str, list[Any]]:
        """The page's SELECT. With ``rowids`` (a JSON array: the rows the text index found,
        see search.py) only those rows are read, then filtered and sorted as always."""
        col = self.column
        where = ["project_id = ?"]
        args: list[Any] = [self.project_id]
        if rowids is not None:  # "+" keeps SQLite from scanning the project's index instead
            where = ["rowid IN (SELECT value FROM json_each(?))", "+project_id = ?"]
            args = [rowids, self.project_id]
        if self.type is not None:
            where.append("type = ?")
            args.append(self.type)
        if self.statuses is not None:
            where.append(f"status IN ({','.join('?' * len(self.statuses))})")
            args.extend(self.statuses)
        if self.folder_id is not None:
            where.append("EXISTS (SELECT 1 FROM json_each(items.folder_ids) WHERE value = ?)")
            args.append(self.folder_id)
        if self.needle:
            where.append("instr(search, ?) > 0")
            args.append(self.needle)
        direction = "DESC" if self.order == SortOrder.DESC else "ASC"
        if self.after is not None:
            op = "<" if self.order == SortOrder.DESC else ">"
            where.append(f"({col}, id) {op} (?, ?)")
            args.extend(self.after)
        # Identifiers come from SORT_COLUMNS / constants; every value is a bound parameter.
        sql = (f"SELECT {columns} FROM items WHERE {' AND '.join(where)} "  # noqa: S608
               f"ORDER BY {col} {direction}, id {direction} LIMIT ?")
        args.append(fetch)
        return sql, args
