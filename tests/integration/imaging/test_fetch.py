"""Fetching picture URLs: public-only, pinned to the checked address, capped, and never hanging.

A raw listener on 127.0.0.1 counts connections: every refused URL must leave it at zero.
"""

from __future__ import annotations

import time

import pytest
from pictures import served_poster_png

from ai_cs.errors import ImageRejected
from ai_cs.imaging.fetch import check_url, fetch_image, host_allowed, is_public
from ai_cs.imaging.intake import intake
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.imaging.report import analyze_source


def _refused_urls(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/a.png",
        f"http://localhost:{port}/a.png",
        f"http://LOCALHOST.:{port}/a.png",
        f"http://[::1]:{port}/a.png",
        f"http://[::ffff:127.0.0.1]:{port}/a.png",
        f"http://[::ffff:7f00:1]:{port}/a.png",
        f"http://2130706433:{port}/a.png",
        f"http://0x7f000001:{port}/a.png",
        f"http://0177.0.0.1:{port}/a.png",
        f"http://127.1:{port}/a.png",
        f"http://0.0.0.0:{port}/a.png",
        f"http://user:pass@127.0.0.1:{port}/a.png",
        f"https://127.0.0.1:{port}/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/a.png",
        "http://192.168.1.1/a.png",
        "http://172.16.0.1/a.png",
        "http://100.64.0.1/a.png",
        "http://224.0.0.1/a.png",
        "http://240.0.0.1/a.png",
        "http://[fe80::1]/a.png",
        "http://[fc00::1]/a.png",
        "http://[2002:7f00:1::]/a.png",  # 6to4 wrapping 127.0.0.1
        "http://[64:ff9b::a00:1]/a.png",  # NAT64 wrapping 10.0.0.1
        "file:///etc/passwd",
        f"gopher://127.0.0.1:{port}/_GET",
        "ftp://example.com/a.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "http:///a.png",
        "http://%31%32%37.0.0.1/a.png",
    ]


def test_refused_urls_never_connect(listener, settings):
    for url in _refused_urls(listener.port):
        with pytest.raises(ImageRejected) as info:
            intake(url, settings)
        assert info.value.code == "url_not_allowed", (url, info.value.message)
    time.sleep(0.2)  # give a stray connection time to be counted
    assert listener.connections == 0


def test_cli_refuses_private_urls_with_exit_2(listener, run_cli):
    for url in (
        f"http://127.0.0.1:{listener.port}/a.png",
        f"http://localhost:{listener.port}/a.png",
        f"http://[::1]:{listener.port}/a.png",
        f"http://[::ffff:127.0.0.1]:{listener.port}/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/a.png",
        f"http://2130706433:{listener.port}/a.png",
        f"http://0x7f000001:{listener.port}/a.png",
        "file:///etc/passwd",
        f"gopher://127.0.0.1:{listener.port}/",
    ):
        result = run_cli(url, "--json")
        assert result.exit_code == 2, url
        assert "url_not_allowed" in result.stderr, (url, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr
        assert result.stdout == ""
    time.sleep(0.2)
    assert listener.connections == 0


def test_dns_answers_are_all_checked_and_pinned(listener, make_settings):
    port = listener.port
    # A name whose DNS answer contains one private address is refused as a whole.
    for answer in (["127.0.0.1"], ["93.184.216.34", "127.0.0.1"], ["::1"], ["10.1.2.3"]):
        with pytest.raises(ImageRejected) as info:
            check_url(f"http://pics.example:{port}/x.png", (), resolver=lambda h, p, a=answer: a)
        assert info.value.code == "url_not_allowed"
    with pytest.raises(ImageRejected):
        fetch_image(
            f"http://rebind.example:{port}/x.png",
            make_settings(),
            resolver=lambda h, p: ["127.0.0.1"],
        )
    time.sleep(0.2)
    assert listener.connections == 0


def test_connection_goes_to_the_checked_address_with_the_original_host(
    picture_server, make_settings
):
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    url = f"http://pics.example:{picture_server.port}/poster.png"
    fetched = fetch_image(
        url, make_settings([f"pics.example:{picture_server.port}"]), resolver=resolver
    )
    assert fetched.data == served_poster_png()
    assert calls == ["pics.example"]  # resolved exactly once
    assert picture_server.hosts == [f"pics.example:{picture_server.port}"]


def test_allowed_host_picture_is_fetched_and_stored(picture_server, make_settings):
    settings = make_settings([f"127.0.0.1:{picture_server.port}"])
    stored = intake(picture_server.url("/poster.png"), settings)
    assert stored.source_format == "PNG"
    assert stored.source == picture_server.url("/poster.png")
    assert stored.path.exists()
    jpeg = intake(picture_server.url("/photo.jpg"), settings)
    assert jpeg.source_format == "JPEG"
    assert intake(picture_server.url("/octet"), settings).source_format == "PNG"


def test_analyze_source_from_url(picture_server, make_settings):
    report = analyze_source(
        picture_server.url("/poster.png"),
        make_settings([f"127.0.0.1:{picture_server.port}"]),
        ocr=StaticOcr(),
    )
    assert report.to_json()["width"] == 1000


def test_allowed_localhost_name(picture_server, make_settings):
    stored = intake(
        picture_server.url("/poster.png", host="localhost"),
        make_settings([f"localhost:{picture_server.port}"]),
    )
    assert stored.width == 1000


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/page.html", "wrong_content_type"),
        ("/drawing.svg", "wrong_content_type"),
        ("/declared-big.png", "image_too_large"),
        ("/streamed-big.png", "image_too_large"),
        ("/empty.png", "empty_file"),
        ("/gzip.png", "fetch_failed"),
        ("/missing.png", "fetch_failed"),
        ("/no-location", "fetch_failed"),
        ("/redirect/4", "too_many_redirects"),
        ("/redirect/9", "too_many_redirects"),
    ],
)
def test_bad_responses_are_refused(picture_server, make_settings, path, code):
    start = time.monotonic()
    with pytest.raises(ImageRejected) as info:
        intake(picture_server.url(path), make_settings([f"127.0.0.1:{picture_server.port}"]))
    assert info.value.code == code, info.value.message
    assert time.monotonic() - start < 5


def test_three_redirects_are_followed(picture_server, make_settings):
    stored = intake(
        picture_server.url("/redirect/3"), make_settings([f"127.0.0.1:{picture_server.port}"])
    )
    assert stored.width == 1000
    assert picture_server.paths == ["/redirect/3", "/redirect/2", "/redirect/1", "/poster.png"]


@pytest.mark.parametrize(
    "target",
    [
        "http://localhost:{port}/a.png",
        "http://[::1]:{port}/a.png",
        "http://2130706433:{port}/a.png",
        "http://10.0.0.1/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/",
    ],
)
def test_redirect_from_allowed_host_to_private_is_refused(
    picture_server, listener, make_settings, target
):
    location = target.format(port=listener.port)
    url = picture_server.url("/to") + "?url=" + location
    with pytest.raises(ImageRejected) as info:
        intake(url, make_settings([f"127.0.0.1:{picture_server.port}"]))
    assert info.value.code == "url_not_allowed"
    time.sleep(0.1)
    assert listener.connections == 0


def test_slow_server_hits_the_deadline(picture_server, make_settings):
    start = time.monotonic()
    with pytest.raises(ImageRejected) as info:
        fetch_image(
            picture_server.url("/slow.png"),
            make_settings([f"127.0.0.1:{picture_server.port}"]),
            timeout=1.0,
        )
    assert info.value.code == "fetch_timeout"
    assert time.monotonic() - start < 3


def test_closed_port_fails_cleanly(listener, make_settings):
    import socket

    with socket.socket() as probe:  # find a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ImageRejected) as info:
        intake(f"http://127.0.0.1:{port}/x.png", make_settings([f"127.0.0.1:{port}"]))
    assert info.value.code == "fetch_failed"


def test_unresolvable_name_fails_cleanly(make_settings):
    def resolver(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(ImageRejected) as info:
        fetch_image("http://nowhere.invalid/x.png", make_settings(), resolver=resolver)
    assert info.value.code == "fetch_failed"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("224.0.0.251", False),
        ("255.255.255.255", False),
        ("0.0.0.0", False),
        ("::", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("fe80::1", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("2002:0a00:0001::", False),
        ("64:ff9b::7f00:1", False),
    ],
)
def test_is_public(address, public):
    import ipaddress

    assert is_public(ipaddress.ip_address(address)) is public


@pytest.fixture
def tls_picture_server(tmp_path):
    """An https server on 127.0.0.1 with a self-signed certificate for ``pics.example``."""
    import shutil
    import ssl
    import subprocess

    from loopback_http import picture_handler, serving

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=pics.example",
         "-addext", "subjectAltName=DNS:pics.example"],
        check=True, capture_output=True,
    )  # fmt: skip
    sni: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    context.sni_callback = lambda _sock, name, _ctx: sni.append(name)
    with serving(picture_handler(served_poster_png()), tls=context) as httpd:
        client = ssl.create_default_context(cafile=str(cert))
        yield httpd.server_address[1], client, sni


def test_https_keeps_sni_and_verifies_the_host_name(tls_picture_server, make_settings):
    port, client, sni = tls_picture_server
    settings = make_settings([f"pics.example:{port}", f"other.example:{port}"])
    fetched = fetch_image(
        f"https://pics.example:{port}/x.png",
        settings,
        resolver=lambda h, p: ["127.0.0.1"],
        verify=client,
    )
    assert fetched.data == served_poster_png()
    assert sni == ["pics.example"]  # connected to the IP, introduced as the host
    with pytest.raises(ImageRejected) as info:  # certificate is not for this name
        fetch_image(
            f"https://other.example:{port}/x.png",
            settings,
            resolver=lambda h, p: ["127.0.0.1"],
            verify=client,
        )
    assert info.value.code == "fetch_failed"


# --- AICS_FETCH_ALLOWED_HOSTS: host (80/443 only), host:port, host:* ---------------------------
@pytest.mark.parametrize(
    ("entry", "host", "opened", "closed"),
    [
        ("localhost", "localhost", [80], [8080]),
        ("LOCALHOST.", "localhost", [443], []),
        ("localhost:8080", "localhost", [8080], [8081]),
        ("localhost:*", "localhost", [6379], []),
        ("[::1]:8080", "::1", [8080], [8081]),
        ("::1", "::1", [80], [8080]),
        ("localhost:http", "localhost", [], [80]),
        ("localhost:0", "localhost", [], [80]),
        ("localhost", "other", [], [80]),
    ],
)
def test_allow_list_entries_name_their_ports(entry, host, opened, closed):
    """Each entry opens ``opened`` on ``host`` and keeps ``closed`` shut."""
    for port in opened:
        assert host_allowed(host, port, [entry]) is True, port
    for port in closed:
        assert host_allowed(host, port, [entry]) is False, port


def test_a_host_entry_does_not_open_other_ports(picture_server, listener, make_settings):
    for url, entries in [
        (picture_server.url("/poster.png"), ["127.0.0.1"]),
        (f"http://127.0.0.1:{listener.port}/a.png", [f"127.0.0.1:{picture_server.port}"]),
    ]:
        with pytest.raises(ImageRejected) as info:
            intake(url, make_settings(entries))
        assert info.value.code == "url_not_allowed", info.value.message
    time.sleep(0.1)
    assert listener.connections == 0
    assert picture_server.paths == []


def test_every_redirect_hop_needs_its_exact_host_and_port(picture_server, listener, make_settings):
    """A "public" host redirecting to an allow-listed internal name on another port is refused."""

    def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]  # pics.example plays the public host, internal.example the inside

    url = (
        f"http://pics.example:{picture_server.port}/to?url="
        f"http://internal.example:{listener.port}/a.png"
    )
    allowed = [f"pics.example:{picture_server.port}", "internal.example"]
    with pytest.raises(ImageRejected) as info:
        fetch_image(url, make_settings(allowed), resolver=resolver)
    assert info.value.code == "url_not_allowed"
    time.sleep(0.1)
    assert listener.connections == 0
    assert picture_server.paths == [f"/to?url=http://internal.example:{listener.port}/a.png"]

    exact = [f"pics.example:{picture_server.port}", f"internal.example:{listener.port}"]
    with pytest.raises(ImageRejected) as info:  # allowed now: it connects (and the port hangs up)
        fetch_image(url, make_settings(exact), resolver=resolver)
    assert info.value.code == "fetch_failed"
    time.sleep(0.1)
    assert listener.connections == 1
