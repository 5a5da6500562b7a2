"""``aics process``: writes the right file type, exits 2 with one line when it must refuse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from engine_pictures import blurred_noisy, detailed_scene, encode, flat_logo, product_photo
from PIL import Image
from psd_tools import PSDImage
from typer.testing import CliRunner

from ai_cs.cli.process import register


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Keep ``process`` a sub-command, as in the real ``aics`` app."""

    register(app)
    return app


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _write(tmp_path: Path, name: str, image: np.ndarray, fmt: str = "PNG") -> Path:
    path = tmp_path / name
    path.write_bytes(encode(image, fmt))
    return path


def test_remove_bg_writes_a_png_with_alpha(app, runner, tmp_path: Path) -> None:
    picture = _write(tmp_path, "product.jpg", product_photo("plain", 800, 600)[0], "JPEG")
    out = tmp_path / "out"

    result = runner.invoke(
        app, ["process", str(picture), "--operation", "remove_bg", "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    written = out / "product_remove_bg.png"
    assert str(written) in result.stdout
    assert "foreground_share" in result.stdout
    with Image.open(written) as image:
        assert image.format == "PNG" and image.mode == "RGBA"


def test_vectorize_writes_an_svg_and_json_report(app, runner, tmp_path: Path) -> None:
    picture = _write(tmp_path, "logo.png", flat_logo(400, 300))
    out = tmp_path / "out"

    result = runner.invoke(
        app,
        [
            "process",
            str(picture),
            "-o",
            "vectorize",
            "--out",
            str(out),
            "--preset",
            "logo",
            "--json",
        ],
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["path"] == str(out / "logo_vectorize.svg")
    assert report["quality"]["passed"] is True
    assert report["metadata"]["preset"] == "logo"
    assert (out / "logo_vectorize.svg").read_bytes().startswith(b"<?xml")


def test_layered_writes_a_psd(app, runner, tmp_path: Path) -> None:
    picture = _write(tmp_path, "product.png", product_photo("gradient", 640, 480)[0])

    result = runner.invoke(
        app, ["process", str(picture), "--operation", "remove_bg_and_layer", "--out", str(tmp_path)]
    )

    assert result.exit_code == 0, result.output
    psd = PSDImage.open(tmp_path / "product_remove_bg_and_layer.psd")
    assert len([layer.name for layer in psd]) >= 2


def test_enhance_writes_an_image(app, runner, tmp_path: Path) -> None:
    picture = _write(tmp_path, "photo.png", blurred_noisy(detailed_scene(600, 400)))

    result = runner.invoke(
        app, ["process", str(picture), "--operation", "enhance", "--out", str(tmp_path)]
    )

    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "photo_enhance.jpg") as image:
        assert image.format == "JPEG" and image.size == (1200, 800)


def test_failed_quality_check_exits_2_with_one_line_and_writes_nothing(
    app, runner, tmp_path: Path
) -> None:
    picture = _write(tmp_path, "busy.png", product_photo("busy", 640, 480)[0])
    out = tmp_path / "out"

    result = runner.invoke(
        app, ["process", str(picture), "--operation", "remove_bg", "--out", str(out)]
    )

    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("refused [quality_check_failed]:")
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--operation", "colorize"], "unknown_operation"),
        (["--operation", "vectorize", "--preset", "sketch"], "unknown_preset"),
    ],
)
def test_unknown_operation_or_preset_exits_2(app, runner, tmp_path: Path, args, code) -> None:
    picture = _write(tmp_path, "logo.png", flat_logo(200, 150))

    result = runner.invoke(app, ["process", str(picture), *args, "--out", str(tmp_path / "o")])

    assert result.exit_code == 2
    assert result.stderr.startswith(f"refused [{code}]")


@pytest.mark.parametrize("content", [b"this is not a picture", None])
def test_unreadable_or_missing_picture_exits_2(app, runner, tmp_path: Path, content) -> None:
    picture = tmp_path / "broken.png"
    if content is not None:
        picture.write_bytes(content)

    result = runner.invoke(
        app, ["process", str(picture), "--operation", "enhance", "--out", str(tmp_path)]
    )

    assert result.exit_code == 2
    assert result.stderr.startswith("refused [image_unreadable]")
    assert len(result.stderr.strip().splitlines()) == 1


def test_real_console_script_exits_2_on_a_failed_check(tmp_path: Path) -> None:
    # The installed `aics` entry point, in a fresh process: exit code and one-line stderr.
    flat = _write(tmp_path, "flat.png", np.full((300, 400, 3), 128, np.uint8))
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ai_cs.cli import main; main()",
            "process",
            str(flat),
            "--operation",
            "enhance",
            "--out",
            str(tmp_path / "out"),
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.startswith("refused [quality_check_failed]")
    assert len(completed.stderr.strip().splitlines()) == 1
    assert completed.stdout == ""
