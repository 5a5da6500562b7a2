"""The SVG sanitizer against hostile documents."""

from __future__ import annotations

import re

import pytest

from ai_cs.engines.svg_safety import MAX_DEPTH, UnsafeSvg, clean_svg, sanitize_svg

HEAD = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def _clean(body: str, attrs: str = 'width="10" height="10"') -> str:
    return sanitize_svg(f"{HEAD} {attrs}>{body}</svg>".encode()).decode("utf-8")


def test_script_elements_are_removed_with_their_content() -> None:
    out = _clean(
        '<script>alert("x")</script><g><script type="text/ecmascript">steal()</script></g>'
    )
    assert "script" not in out and "alert" not in out and "steal" not in out


def test_event_handler_attributes_are_removed() -> None:
    out = _clean('<rect width="5" height="5" onclick="x()" onmouseover="y()"/>', 'onload="z()"')
    assert not re.search(r"\bon\w+=", out)
    assert '<rect width="5" height="5"' in out


def test_external_references_are_removed_local_ones_kept() -> None:
    out = _clean(
        '<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient></defs>'
        '<use xlink:href="http://evil.example/sprite.svg#a"/>'
        '<use href="https://evil.example/x.svg#b"/>'
        '<use xlink:href="javascript:alert(1)"/>'
        '<use xlink:href="#g"/>'
        '<rect width="1" height="1" fill="url(http://evil.example/p.svg#x)"/>'
        '<rect width="2" height="2" fill="url(#g)"/>'
        '<rect width="3" height="3" style="fill:url(  https://e/x );stroke:blue"/>'
        '<image href="http://evil.example/pixel.png"/>'
    )
    assert "evil" not in out and "javascript" not in out and "https://" not in out
    assert 'href="#g"' in out
    assert 'fill="url(#g)"' in out
    assert 'style="stroke:blue"' in out
    assert "<image" not in out


def test_foreign_object_and_html_are_removed() -> None:
    out = _clean(
        '<foreignObject width="10" height="10"><body xmlns="http://www.w3.org/1999/xhtml">'
        '<iframe src="http://evil.example"/></body></foreignObject><circle r="3"/>'
    )
    assert "foreignObject" not in out and "iframe" not in out and "body" not in out
    assert "<circle" in out


def test_style_elements_animations_and_links_are_removed() -> None:
    out = _clean(
        "<style>@import url(http://evil.example/x.css); rect{fill:red}</style>"
        '<a href="http://evil.example"><rect width="1" height="1"/></a>'
        '<set attributeName="href" to="javascript:alert(1)"/>'
        '<animate attributeName="fill" to="red"/>'
    )
    assert "style" not in out and "@import" not in out
    assert "<a" not in out and "<set" not in out and "<animate" not in out


def test_css_escapes_and_expressions_are_dropped() -> None:
    out = _clean(
        '<rect width="1" height="1" style="fill:u\\72l(http://e/x)"/>'
        '<rect width="2" height="2" style="fill:expression(alert(1))"/>'
        '<rect width="3" height="3" fill="red" stroke="url(data:image/svg+xml,abc)"/>'
    )
    assert "\\" not in out and "expression" not in out and "data:" not in out
    assert 'fill="red"' in out


@pytest.mark.parametrize(
    "svg",
    [
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg"><text>&lol3;</text></svg>',
            id="entity_expansion_bomb",
        ),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
            id="external_entity",
        ),
    ],
)
def test_entity_declarations_are_refused(svg: bytes) -> None:
    with pytest.raises(UnsafeSvg):
        sanitize_svg(svg)


def test_plain_doctype_is_stripped_and_default_attributes_cleaned() -> None:
    data = (
        b'<?xml version="1.0"?>'
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
        b'<rect width="4" height="4"/></svg>'
    )
    out = sanitize_svg(data).decode()
    assert "DOCTYPE" not in out and "<rect" in out

    attlist = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ATTLIST svg onload CDATA "alert(1)">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>'
    )
    assert b"onload" not in sanitize_svg(attlist)


@pytest.mark.parametrize(
    "data",
    [b"not xml at all", b"<html><body/></html>", b"<svg><unclosed></svg>", b""],
)
def test_non_svg_input_is_refused(data: bytes) -> None:
    with pytest.raises(UnsafeSvg):
        sanitize_svg(data)


def test_too_deep_nesting_is_refused() -> None:
    deep = "<g>" * (MAX_DEPTH + 5) + "</g>" * (MAX_DEPTH + 5)
    with pytest.raises(UnsafeSvg):
        _clean(deep)


def test_text_content_is_kept_and_removals_are_listed() -> None:
    cleaned = clean_svg(
        f'{HEAD}><title>Logo</title><text x="1" y="2">Hello <tspan>shop</tspan> 店</text>'
        "<script>x()</script></svg>"
    )
    out = cleaned.data.decode()
    assert "<title>Logo</title>" in out
    assert "Hello <tspan>shop</tspan> 店" in out
    assert "element 'script'" in cleaned.removed


def test_output_is_stable_and_well_formed() -> None:
    once = sanitize_svg(f'{HEAD} viewBox="0 0 2 2"><path d="M0 0L2 2" fill="#fff"/></svg>')
    assert sanitize_svg(once) == once
    assert once.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b'xmlns="http://www.w3.org/2000/svg"' in once
