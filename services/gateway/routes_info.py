"""Guide content: requirements, fees, what to bring, how the queue works (Indonesian and English)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from .info_content import TOPICS
from .problems import ProblemError

router = APIRouter(prefix="/v1/info", tags=["info"])
Language = Annotated[Literal["id", "en"], Query(description="id (Bahasa Indonesia, default) or en.")]


class Topic(BaseModel):
    """One topic of the guide."""

    topic: str = Field(description="The topic's id.", examples=["fees"])
    language: Literal["id", "en"] = Field(description="The language of the text.")
    title: str = Field(description="Title.", examples=["Biaya (PP No. 28 Tahun 2019)"])
    items: list[str] = Field(description="What to know, one point each.")


def topic(name: str, lang: str) -> Topic:
    return Topic(topic=name, language=lang, **TOPICS[name][lang])


@router.get("", summary="Every guide topic")
async def topics(lang: Language = "id") -> list[Topic]:
    return [topic(name, lang) for name in TOPICS]


@router.get("/{name}", summary="One guide topic")
async def one_topic(name: str, lang: Language = "id") -> Topic:
    if name not in TOPICS:
        raise ProblemError(
            "not_found",
            f"No guide topic {name[:40]!r}; see /v1/info.",
            f"Topik panduan {name[:40]!r} tidak ada; lihat /v1/info.",
            status=404,
        )
    return topic(name, lang)
