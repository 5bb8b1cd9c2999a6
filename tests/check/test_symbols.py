"""The symbol bank in the check flow: a painted symbol routes an upload to a person with the
symbol named; an operator's emblem is added, found and removed; tenants and roles are kept apart."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

from service.auth import Role
from tests.conftest import KeyMaker, bearer

SYMBOLS = Path(__file__).resolve().parents[2] / "policies" / "symbols"


def photo(seed: int = 4, size: tuple[int, int] = (1200, 800)) -> Image.Image:
    import skimage.data

    names = ("coffee", "astronaut", "rocket", "chelsea", "camera")
    return Image.fromarray(getattr(skimage.data, names[seed % len(names)])()).convert("RGB").resize(size)


def paint(picture: Image.Image, drawing: Image.Image, *, side: int, at: tuple[int, int], angle: float,
          colour: tuple[int, int, int]) -> Image.Image:  # fmt: skip
    """``drawing``'s dark strokes painted onto ``picture`` in ``colour``, ``side`` pixels tall, turned."""
    ink = Image.fromarray((np.asarray(drawing.convert("L")) < 128).astype(np.uint8) * 255)
    ink = ink.resize((round(side * ink.width / ink.height), side)).rotate(angle, expand=True)
    out = picture.copy()
    out.paste(Image.new("RGB", ink.size, colour), at, ink)
    return out


def jpeg(image: Image.Image, path: Path, quality: int = 80) -> Path:
    image.save(path, "JPEG", quality=quality)
    return path


async def _check(client: httpx.AsyncClient, token: str, path: Path) -> dict:
    r = await client.post(
        "/v1/check", files={"file": (path.name, path.read_bytes(), "image/jpeg")}, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_painted_z_goes_to_review_with_the_symbol_named(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    with Image.open(SYMBOLS / "z_marking.png") as opened:
        z = opened.copy()
    picture = paint(photo(2), z, side=220, at=(700, 300), angle=12, colour=(245, 245, 245))
    verdict = await _check(client, make_key(Role.PLATFORM), jpeg(picture, tmp_path / "vehicle_z.jpg"))
    assert verdict["decision"] == "review", verdict["reasons"]
    [hit] = [r for r in verdict["reasons"] if r["rule"] == "symbol.z_marking"]
    assert hit["source"] == "symbols"
    assert hit["detail"].startswith("Z marking (")
    assert verdict["classifier_versions"]["symbols"].startswith("symbols-")
    assert "symbols" not in verdict["missing_signals"]
    detail = (
        await client.get(f"/v1/flags/{verdict['flag_id']}", headers=bearer(make_key(Role.REVIEWER)))
    ).json()
    [line] = detail["context"]["symbols"]
    assert (line["symbol_id"], line["category"]) == ("z_marking", "war_glorification")
    x, y, w, h = line["box"]  # in the upload's pixels, around the painted Z (truth: its ink's box)
    ink = np.asarray(paint(Image.new("RGB", (1200, 800)), z, side=220, at=(700, 300), angle=12,
                           colour=(255, 255, 255)).convert("L")) > 0  # fmt: skip
    ys, xs = np.nonzero(ink)
    ix = max(0, min(x + w, xs.max()) - max(x, xs.min()))
    iy = max(0, min(y + h, ys.max()) - max(y, ys.min()))
    union = w * h + (xs.max() - xs.min()) * (ys.max() - ys.min()) - ix * iy
    assert ix * iy / union > 0.4


async def test_a_red_z_as_light_as_its_wall_goes_to_review(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    """Red paint at the grey level of the wall under it: the Z shows only in colour."""
    red = (200, 90, 60)
    grey = round(0.299 * red[0] + 0.587 * red[1] + 0.114 * red[2])
    wall = np.full((800, 1200, 3), grey, np.float32) + np.random.default_rng(1).normal(0, 5, (800, 1200, 3))
    picture = Image.fromarray(np.clip(wall, 0, 255).astype(np.uint8))
    picture.paste(photo(0, (500, 800)), (700, 0))
    with Image.open(SYMBOLS / "z_marking.png") as opened:
        picture = paint(picture, opened.copy(), side=220, at=(180, 260), angle=-10, colour=red)
    verdict = await _check(client, make_key(Role.PLATFORM), jpeg(picture, tmp_path / "wall_z.jpg"))
    assert verdict["decision"] == "review", verdict["reasons"]
    assert [r["rule"] for r in verdict["reasons"] if r["source"] == "symbols"] == ["symbol.z_marking"]


@pytest.mark.parametrize("seed", [0, 2, 3])
async def test_an_ordinary_photo_stays_allowed(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path, seed: int
) -> None:
    verdict = await _check(client, make_key(Role.PLATFORM), jpeg(photo(seed), tmp_path / f"photo_{seed}.jpg"))
    assert verdict["decision"] == "allow", verdict["reasons"]
    assert verdict["classifier_versions"]["symbols"].startswith("symbols-")


async def test_a_private_memorial_picture_stays_allowed(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    """A family's memorial card: a portrait frame, a candle and words of grief, no slogan."""
    card = Image.new("RGB", (1000, 700), (238, 232, 220))
    draw = ImageDraw.Draw(card)
    draw.rectangle((80, 80, 380, 460), outline=(60, 50, 40), width=6)
    card.paste(photo(3).resize((288, 368)), (86, 86))
    draw.rectangle((700, 300, 740, 480), fill=(250, 245, 230), outline=(120, 100, 60))
    draw.ellipse((708, 250, 732, 300), fill=(255, 190, 60))
    from PIL import ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 40)
    draw.text((80, 530), "Любимый папа, помним и скорбим", font=font, fill=(40, 30, 20))
    verdict = await _check(client, make_key(Role.PLATFORM), jpeg(card, tmp_path / "memorial.jpg"))
    assert verdict["decision"] == "allow", verdict["reasons"]


def emblem() -> Image.Image:
    """An operator's emblem: a unit patch drawn as a shield with a lightning bolt cut out."""
    img = Image.new("RGBA", (300, 360), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.polygon([(20, 20), (280, 20), (280, 200), (150, 340), (20, 200)], fill=(20, 20, 20, 255))
    draw.polygon([(170, 50), (90, 190), (150, 190), (120, 310), (210, 150), (150, 150)], fill=(0, 0, 0, 0))
    return img


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


async def test_an_operator_adds_an_emblem_it_is_found_and_removed(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    admin = bearer(make_key(Role.ADMIN))
    platform = make_key(Role.PLATFORM)
    form = {"id": "unit-patch", "label": "Unit patch", "category": "extremist_symbols", "note": "test emblem"}
    added = await client.post(
        "/v1/symbols", data=form, files={"file": ("patch.png", png(emblem()), "image/png")}, headers=admin
    )
    assert added.status_code == 201, added.text
    assert (added.json()["id"], added.json()["shipped"]) == ("unit-patch", False)
    listed = (await client.get("/v1/symbols", headers=bearer(platform))).json()
    assert {"z_marking", "unit-patch"} <= {s["id"] for s in listed}
    drawing = await client.get("/v1/symbols/unit-patch/drawing", headers=bearer(platform))
    assert drawing.headers["content-type"] == "image/png"

    patch = emblem().resize((200, 240))
    picture = photo(0)
    picture.paste(patch, (820, 420), patch)
    upload = jpeg(picture, tmp_path / "with_patch.jpg")
    verdict = await _check(client, platform, upload)
    assert verdict["decision"] == "review", verdict["reasons"]
    assert "symbol.unit-patch" in [r["rule"] for r in verdict["reasons"]]
    other_tenant = await _check(client, make_key(Role.PLATFORM, tenant="other"), upload)
    assert "symbol.unit-patch" not in [r["rule"] for r in other_tenant["reasons"]]  # tenants apart

    assert (await client.delete("/v1/symbols/unit-patch", headers=admin)).status_code == 204
    again = await _check(client, platform, upload)
    assert "symbol.unit-patch" not in [r["rule"] for r in again["reasons"]]


async def test_bad_emblems_and_wrong_roles_are_refused_and_change_nothing(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    admin = bearer(make_key(Role.ADMIN))
    form = {"id": "blank", "label": "Blank", "category": "extremist_symbols"}
    blank = png(Image.new("RGB", (200, 200), "white"))
    r = await client.post(
        "/v1/symbols", data=form, files={"file": ("b.png", blank, "image/png")}, headers=admin
    )
    assert r.status_code == 422
    assert "plain or transparent background" in r.json()["error"]["message"]
    bad_category = {**form, "id": "patch", "category": "propaganda_poster"}
    r = await client.post(
        "/v1/symbols", data=bad_category, files={"file": ("p.png", png(emblem()), "image/png")}, headers=admin
    )
    assert r.status_code == 422
    assert "war_glorification" in r.json()["error"]["message"]
    r = await client.post(
        "/v1/symbols",
        data={**form, "id": "z_marking"},
        files={"file": ("p.png", png(emblem()), "image/png")},
        headers=admin,
    )
    assert r.status_code == 422  # a shipped symbol's id
    r = await client.post(
        "/v1/symbols", data={**form, "id": "x"}, files={"file": ("t.txt", b"not a picture", "text/plain")},
        headers=admin,
    )  # fmt: skip
    assert r.status_code in (415, 422)
    platform = bearer(make_key(Role.PLATFORM))
    r = await client.post(
        "/v1/symbols", data={**form, "id": "p"}, files={"file": ("p.png", png(emblem()), "image/png")},
        headers=platform,
    )  # fmt: skip
    assert r.status_code == 403
    assert (await client.delete("/v1/symbols/z_marking", headers=admin)).status_code == 422
    assert (await client.delete("/v1/symbols/nothing-here", headers=admin)).status_code == 404
    ids = {s["id"] for s in (await client.get("/v1/symbols", headers=admin)).json()}
    assert not ids & {"blank", "patch", "x", "p"}
