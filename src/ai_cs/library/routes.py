"""``/api/v1/library``: staff search the shop's picture library by words or by a picture."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from sqlalchemy import select

from ai_cs.auth.service import Principal, Scope
from ai_cs.library import service
from ai_cs.library.models import LibraryImage
from ai_cs.web.deps import DbDep, require

router = APIRouter(prefix="/api/v1/library", tags=["library"])

StaffDep = Annotated[Principal, Depends(require(Scope.STAFF))]


class PictureTooLarge(service.LibraryPictureRejected, code="payload_too_large", http_status=413):
    """An uploaded search picture over the size limit."""


@router.get("")
def search_words(
    _principal: StaffDep,
    db: DbDep,
    q: Annotated[str, Query(max_length=service.MAX_QUERY_CHARS)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = service.MAX_RESULTS,
) -> dict[str, Any]:
    """Pictures matching the words ``q`` (name, tags, text in the picture); all when empty."""
    with db.read() as session:
        if q.strip():
            matches = service.search_by_words(session, q, limit=limit)
            rows = [m.model_dump() for m in matches]
            return {"data": rows, "count": len(rows)}
        recent = session.execute(
            select(LibraryImage.image_id).order_by(LibraryImage.image_id.desc()).limit(limit)
        ).scalars()
        rows = [
            m.model_dump()
            for m in (service.get_picture(session, i) for i in recent)
            if m is not None
        ]
        return {"data": rows, "count": service.count_pictures(session)}


@router.post("/search")
def search_picture(
    _principal: StaffDep,
    db: DbDep,
    image: Annotated[UploadFile, File(description="The picture to look for.")],
    max_distance: Annotated[
        int | None, Form(ge=0, le=32, description="Largest pHash distance accepted.")
    ] = None,
) -> dict[str, Any]:
    """Library pictures that look like the uploaded one, closest first, with resolution."""
    data = image.file.read(service.MAX_FILE_BYTES + 1)
    if len(data) > service.MAX_FILE_BYTES:
        raise PictureTooLarge(f"the picture is larger than {service.MAX_FILE_BYTES} bytes")
    picture = service.decode_picture(data)
    with db.read() as session:
        matches = service.search_by_picture(
            session,
            picture,
            phash_max=service.PHASH_MAX_DISTANCE if max_distance is None else max_distance,
        )
    rows = [m.model_dump() for m in matches]
    return {"data": rows, "count": len(rows)}
