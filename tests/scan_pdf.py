"""Turn a PDF into a scanned one: rasterize, rotate, add noise, wrap as image-only pages.

Used by the scan tests and benchmarks/marks_variants.py to make scans whose
truth is known (the text PDF they were made from).
"""

from __future__ import annotations

import cv2
import numpy as np
import pymupdf


def scan(pdf: bytes, dpi: int = 200, angle: float = 0.0, noise: float = 0.0, specks: int = 0,
         pages: list[int] | None = None, seed: int = 0) -> bytes:
    """An image-only PDF of ``pdf``'s pages (0-based ``pages``) as a scanner would make it.

    ``angle`` rotates the paper (degrees, counter-clockwise), ``noise`` is the
    standard deviation of gray noise, ``specks`` the number of dust dots.
    """
    rng = np.random.default_rng(seed)
    src = pymupdf.open(stream=pdf, filetype="pdf")
    out = pymupdf.open()
    for index in pages if pages is not None else range(src.page_count):
        page = src[index]
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        img = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width).copy()
        if angle:
            h, w = img.shape
            m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
            img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
        if noise:
            img = np.clip(img.astype(np.float32) + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
        for _ in range(specks):
            x, y = int(rng.integers(0, img.shape[1])), int(rng.integers(0, img.shape[0]))
            cv2.circle(img, (x, y), int(rng.integers(1, 3)), 0, -1)
        ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert ok
        new = out.new_page(width=page.rect.width, height=page.rect.height)
        new.insert_image(new.rect, stream=jpg.tobytes())
    return out.tobytes()
