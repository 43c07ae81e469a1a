"""The title block of a file: who the figures belong to and the audit log they were
read at. Read in the request's transaction, after the figures, so that the size and
root hash are those of the snapshot the figures come from (one transaction)."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from ledger.merkle import root_from_frontier
from service.context import RequestContext
from service.errors import NotFound
from service.reports import repository
from service.reports.exports import Checkpoint, FundCheckpoint, TitleBlock
from service.reports.labels import Language


def checkpoint_of(record: asyncpg.Record) -> Checkpoint:
    size = int(record["tree_size"])
    frontier = tuple(bytes(h) for h in record["frontier"])
    return Checkpoint(size, root_from_frontier(frontier, size).hex())


async def fund_title(
    ctx: RequestContext, fund_id: uuid.UUID, subject: str, language: Language, end: date,
    start: date | None = None,
) -> tuple[TitleBlock, str]:
    """The title block of a file of one fund's books, and the name its download
    carries (the club's, or the fund's for a bare ledger)."""
    heading = await repository.fund_heading(ctx.connection, fund_id)
    if heading is None:
        raise NotFound("fund", fund_id)
    block = TitleBlock(
        subject=subject, language=language, generated_at=ctx.now, start=start, end=end,
        club=heading["club_name"], commune=heading["commune_name"],
        fund=heading["fund_name"], checkpoint=checkpoint_of(heading),
    )
    return block, heading["club_name"] or heading["fund_name"]


async def area_title(
    ctx: RequestContext, club_ids: list[uuid.UUID], subject: str, area: str,
    language: Language, end: date, start: date | None = None,
) -> TitleBlock:
    """The title block of a report that spans clubs: every club's log on a sheet of
    its own."""
    trees = await repository.club_fund_trees(ctx.connection, club_ids)
    return TitleBlock(
        subject=subject, language=language, generated_at=ctx.now, start=start, end=end,
        area=area,
        fund_checkpoints=[FundCheckpoint(t["club_name"], str(t["fund_id"]), checkpoint_of(t))
                          for t in trees],
    )
