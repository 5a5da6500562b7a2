"""SVG sanitizing (SVG 安全清洗) before an SVG is stored or served.

An SVG is a document that browsers execute: ``<script>``, ``on*`` handlers, ``<foreignObject>``
HTML, external references (``href="http://..."``, ``url(http://...)`` in styles) that leak the
viewer's address or pull in content, and XML entity tricks. :func:`sanitize_svg` parses with
defusedxml (entity declarations and external references are refused outright, so
entity-expansion bombs never expand; a plain DOCTYPE such as Illustrator's SVG 1.1 one is dropped)
and rebuilds the document from an allowlist of drawing elements and attributes; everything else
is dropped. The vectorizer's output goes through it, and so should any SVG a designer uploads.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Final

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from ai_cs.errors import ImageRejected

SVG_NS: Final = "http://www.w3.org/2000/svg"
XLINK_NS: Final = "http://www.w3.org/1999/xlink"
XML_NS: Final = "http://www.w3.org/XML/1998/namespace"

MAX_SVG_INPUT_BYTES: Final = 32_000_000
"""Largest SVG accepted for cleaning; a traced photo is a few MB, more is abuse or a mistake."""

MAX_ELEMENTS: Final = 300_000
"""Most elements kept; bounds the memory and time of cleaning, storing and rendering."""

MAX_DEPTH: Final = 64
"""Deepest nesting accepted; real drawings nest a handful of groups."""

ALLOWED_ELEMENTS: Final = frozenset(
    {
        "svg", "g", "defs", "title", "desc", "symbol", "use",
        "path", "rect", "circle", "ellipse", "line", "polyline", "polygon",
        "text", "tspan",
        "linearGradient", "radialGradient", "stop", "pattern",
        "clipPath", "mask", "marker",
    }
)  # fmt: skip
"""Drawing elements only. Not allowed, with their whole subtree: script, style (CSS can import
and fetch), foreignObject (HTML), image and feImage/filters (external or embedded rasters), a
(links), animate/set (can rewrite href to ``javascript:``), and anything not in the SVG namespace.
"""

ALLOWED_ATTRIBUTES: Final = frozenset(
    {
        "id", "class", "version", "width", "height", "viewBox", "preserveAspectRatio",
        "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy", "fr",
        "d", "points", "transform", "pathLength",
        "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-linecap",
        "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset",
        "stroke-opacity", "opacity", "color", "display", "visibility", "paint-order",
        "vector-effect", "shape-rendering", "clip-path", "clip-rule", "mask",
        "stop-color", "stop-opacity", "offset",
        "gradientUnits", "gradientTransform", "spreadMethod",
        "patternUnits", "patternContentUnits", "patternTransform",
        "clipPathUnits", "maskUnits", "maskContentUnits",
        "marker-start", "marker-mid", "marker-end", "markerWidth", "markerHeight",
        "markerUnits", "refX", "refY", "orient",
        "font-family", "font-size", "font-weight", "font-style", "text-anchor",
        "dominant-baseline", "letter-spacing", "word-spacing", "dx", "dy", "rotate",
        "textLength", "lengthAdjust",
        "href", "style",
    }
)  # fmt: skip
"""Geometry and presentation attributes. Event handlers (``on*``) and every namespaced
attribute except ``xlink:href`` / ``xml:space`` are dropped."""

TEXT_ELEMENTS: Final = frozenset({"title", "desc", "text", "tspan"})
"""Elements whose character content is kept; elsewhere text is only whitespace or noise."""

_LOCAL_URL = re.compile(r"""url\(\s*(['"]?)#[A-Za-z_][\w.\-:]*\1\s*\)""")
_ANY_URL = re.compile(r"url\s*\(", re.IGNORECASE)
_FORBIDDEN_IN_VALUE = re.compile(
    r"(javascript|vbscript|data)\s*:|expression\s*\(|@import|[\\<>]", re.I
)
_LOCAL_HREF = re.compile(r"#[A-Za-z_][\w.\-:]*")


class UnsafeSvg(ImageRejected, code="unsafe_svg"):
    """An SVG that cannot be made safe (not XML, DOCTYPE/entities, not an SVG, too big)."""


@dataclass(frozen=True, slots=True)
class SanitizedSvg:
    """A cleaned SVG and what was taken out of it (for logs and tests)."""

    data: bytes
    removed: tuple[str, ...]


def sanitize_svg(data: bytes | str) -> bytes:
    """The SVG rebuilt from allowed elements and attributes only, as UTF-8 bytes.

    Raises :class:`UnsafeSvg` for input that is refused as a whole: not well-formed XML, an
    entity declaration or external reference in a DOCTYPE (entity-expansion bombs, XXE), a root
    that is not ``<svg>``, or more than the size limits. A plain DOCTYPE is dropped.
    """
    return clean_svg(data).data


def clean_svg(data: bytes | str) -> SanitizedSvg:
    """Like :func:`sanitize_svg`, also listing what was removed."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_SVG_INPUT_BYTES:
        raise UnsafeSvg(f"SVG is {len(raw)} bytes; at most {MAX_SVG_INPUT_BYTES} are accepted")
    try:
        root = defused_fromstring(raw, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeSvg(
            f"SVG refused: {type(exc).__name__} (entity declarations and external "
            "references are not allowed)"
        ) from exc
    except ET.ParseError as exc:
        raise UnsafeSvg(f"SVG is not well-formed XML: {exc}") from exc
    namespace, local = _split(root.tag)
    if local != "svg" or namespace not in (SVG_NS, ""):
        raise UnsafeSvg(f"root element is {root.tag!r}, not an SVG <svg>")
    cleaner = _Cleaner()
    clean_root = cleaner.copy(root, depth=0)
    if clean_root is None:  # pragma: no cover - the root was checked above
        raise UnsafeSvg("SVG has no drawable root")
    # Elements are built un-namespaced with an explicit xmlns: ElementTree's default_namespace
    # option rejects un-namespaced attributes, and register_namespace would be process-global.
    clean_root.set("xmlns", SVG_NS)
    body = ET.tostring(clean_root, encoding="unicode")
    out = ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")
    return SanitizedSvg(data=out, removed=tuple(cleaner.removed))


class _Cleaner:
    def __init__(self) -> None:
        self.count = 0
        self.removed: list[str] = []

    def copy(self, element: ET.Element, depth: int) -> ET.Element | None:
        namespace, local = _split(element.tag)
        if (
            not isinstance(element.tag, str)
            or namespace not in (SVG_NS, "")
            or (local not in ALLOWED_ELEMENTS)
        ):
            self.removed.append(f"element {local or element.tag!r}")
            return None
        if depth > MAX_DEPTH:
            raise UnsafeSvg(f"SVG nests deeper than {MAX_DEPTH} levels")
        self.count += 1
        if self.count > MAX_ELEMENTS:
            raise UnsafeSvg(f"SVG has more than {MAX_ELEMENTS} elements")
        clean = ET.Element(local)
        for name, value in element.attrib.items():
            kept = self._attribute(name, value)
            if kept is None:
                self.removed.append(f"attribute {local}.{_split(name)[1]}")
            else:
                clean.set(*kept)
        if local in TEXT_ELEMENTS and element.text:
            clean.text = element.text
        for child in element:
            copied = self.copy(child, depth + 1)
            if copied is not None:
                if local in TEXT_ELEMENTS and child.tail:
                    copied.tail = child.tail  # text between <tspan>s is part of the drawing
                clean.append(copied)
        return clean

    def _attribute(self, name: str, value: str) -> tuple[str, str] | None:
        namespace, local = _split(name)
        if namespace == XML_NS and local == "space":
            return (f"{{{XML_NS}}}space", value) if value in ("default", "preserve") else None
        if namespace == XLINK_NS and local == "href":
            namespace = ""  # written back as SVG 2 plain href; no global xlink prefix needed
        if namespace or local not in ALLOWED_ATTRIBUTES or local.lower().startswith("on"):
            return None
        if local == "href":
            return (local, value) if _LOCAL_HREF.fullmatch(value.strip()) else None
        if local == "style":
            style = _clean_style(value)
            return (local, style) if style else None
        return (local, value) if _safe_value(value) else None


def _clean_style(style: str) -> str:
    """Keep ``prop: value`` declarations of allowed presentation properties with safe values."""
    kept: list[str] = []
    for declaration in style.split(";"):
        if ":" not in declaration:
            continue
        prop, _, value = declaration.partition(":")
        prop = prop.strip().lower()
        value = value.strip()
        if prop in ALLOWED_ATTRIBUTES and prop not in ("href", "style") and _safe_value(value):
            kept.append(f"{prop}:{value}")
    return ";".join(kept)


def _safe_value(value: str) -> bool:
    """No script schemes, CSS escapes/imports, or ``url()`` other than ``url(#local-id)``."""
    if _FORBIDDEN_IN_VALUE.search(value):
        return False
    without_local = _LOCAL_URL.sub("", value)
    return not _ANY_URL.search(without_local)


def _split(tag: object) -> tuple[str, str]:
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag
