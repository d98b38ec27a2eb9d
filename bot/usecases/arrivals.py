"""The first read of every message: its chat, access rules and language choices at once."""

from __future__ import annotations

from bot.model import Incoming
from bot.usecases.languages import message_subjects
from storage import Database
from storage.arrivals import Arrival


async def read_arrival(db: Database, msg: Incoming) -> Arrival:
    address = msg.address
    async with db.unit_of_work() as uow:
        return await uow.arrivals.read(address.key, address.parent_key, message_subjects(msg))
