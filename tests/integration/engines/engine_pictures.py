"""Generated pictures with known ground truth for the engine tests (no files, no network).

Named ``engine_pictures`` (not ``pictures``) because test folders have no ``__init__.py`` and
another folder already has a ``pictures`` helper module.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def product_mask(width: int, height: int) -> np.ndarray:
    """Boolean mask of the product: a tilted ellipse a little below the centre."""
    mask = np.zeros((height, width), np.uint8)
    centre = (width // 2, height // 2 + height // 20)
    axes = (int(width * 0.22), int(height * 0.30))
    cv2.ellipse(mask, centre, axes, 15, 0, 360, 255, -1, lineType=cv2.LINE_AA)
    return mask >= 128


def _background(kind: str, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "plain":
        return np.full((height, width, 3), (235, 238, 240), np.float32)
    if kind == "gradient":
        y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
        x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
        top = np.array([200, 220, 250], np.float32)
        bottom = np.array([90, 110, 150], np.float32)
        return (top * (1 - y) + bottom * y) * (0.8 + 0.2 * x)
    if kind == "noise":
        return rng.random((height, width, 3), dtype=np.float32) * 255.0
    if kind == "busy":
        # Hundreds of random coloured discs and boxes filling the frame: GrabCut's colour models
        # cannot tell them from the product, so the cut must fail its check.
        image = np.full((height, width, 3), 128, np.uint8)
        for _ in range(400):
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
            size = int(rng.integers(10, max(11, width // 10)))
            if rng.random() < 0.5:
                cv2.circle(image, (x, y), size, colour, -1)
            else:
                cv2.rectangle(
                    image, (x, y), (x + size, y + int(rng.integers(10, size + 11))), colour, -1
                )
        return image.astype(np.float32)
    raise ValueError(kind)


def product_photo(
    background: str = "plain", width: int = 1200, height: int = 900, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A red, shaded, lightly textured product on ``background``; returns (RGB, true mask).

    ``background``: ``plain``, ``gradient``, ``noise`` or ``busy``.
    """
    rng = np.random.default_rng(seed)
    image = _background(background, width, height, rng)
    truth = product_mask(width, height)
    soft = np.zeros((height, width), np.uint8)
    centre = (width // 2, height // 2 + height // 20)
    axes = (int(width * 0.22), int(height * 0.30))
    cv2.ellipse(soft, centre, axes, 15, 0, 360, 255, -1, lineType=cv2.LINE_AA)
    weight = (soft.astype(np.float32) / 255.0)[:, :, None]
    y = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None, None]
    texture = rng.normal(0.0, 8.0, (height, width, 1)).astype(np.float32)
    subject = np.array([200, 60, 40], np.float32) * (1 - 0.25 * y) + texture
    out = image * (1 - weight) + subject * weight
    return np.clip(out, 0, 255).astype(np.uint8), truth


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def flat_logo(width: int = 800, height: int = 600) -> np.ndarray:
    """A flat three-colour logo (disc, box, triangle) on white."""
    image = np.full((height, width, 3), 255, np.uint8)
    cv2.circle(image, (width // 3, height // 2), int(height * 0.3), (220, 40, 40), -1, cv2.LINE_AA)
    cv2.rectangle(
        image, (width // 2, height // 4), (int(width * 0.85), int(height * 0.75)), (30, 60, 200), -1
    )
    triangle = np.array(
        [
            [width // 2, int(height * 0.9)],
            [int(width * 0.7), int(height * 0.6)],
            [int(width * 0.9), int(height * 0.9)],
        ],
        np.int32,
    )
    cv2.fillPoly(image, [triangle], (250, 200, 30), cv2.LINE_AA)
    return image


def gradient_poster(width: int = 800, height: int = 800) -> np.ndarray:
    """A poster: a smooth blue-to-orange gradient with a row of discs."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top = np.array([30, 60, 140], np.float32)
    bottom = np.array([240, 150, 60], np.float32)
    image = np.ascontiguousarray(
        np.broadcast_to(top * (1 - y) + bottom * y, (height, width, 3)).astype(np.uint8)
    )
    for i in range(10):
        cv2.circle(
            image, (80 * i + 40, height // 3), 50, (255 - 20 * i, 20 * i, 120), -1, cv2.LINE_AA
        )
    return image


def detailed_scene(width: int = 800, height: int = 600, seed: int = 1) -> np.ndarray:
    """Sharp shapes and text lines: something with edges to enhance."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 220, np.uint8)
    for i in range(60):
        colour = tuple(int(v) for v in rng.integers(0, 200, 3))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(image, centre, int(rng.integers(5, 60)), colour, -1 if i % 2 else 2, cv2.LINE_AA)
    for top in range(40, height, 50):
        cv2.putText(
            image,
            "AI CS 2026 sharp text",
            (20, top),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.9,
            (20, 20, 20),
            2,
            cv2.LINE_AA,
        )
    return image


def blurred_noisy(
    image: np.ndarray, blur: float = 2.0, noise: float = 10.0, seed: int = 2
) -> np.ndarray:
    """``image`` degraded by Gaussian blur and Gaussian noise."""
    rng = np.random.default_rng(seed)
    out = cv2.GaussianBlur(image, (0, 0), blur).astype(np.float32) + rng.normal(
        0, noise, image.shape
    )
    return np.clip(out, 0, 255).astype(np.uint8)


def encode(image: np.ndarray, fmt: str = "PNG", **params: object) -> bytes:
    """Encoded bytes of an RGB/RGBA array."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt, **params)
    return buffer.getvalue()
