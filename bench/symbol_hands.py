"""Drawings of the shipped symbols by other hands, for ``bench_symbols.py``'s ``recall_other_drawings``.

A marking on a vehicle or a wall is not the shipped drawing: it is brushed with thinner strokes
and round ends, written as a letter in some font, or drawn upright where the shipped drawing is
turned. None of these drawings is used in training: the brushed ones are polylines (training
thins and bolds the shipped polygons), the fonts are DejaVu faces that ``symbol_synth`` does not
write with, and the upright swastika is the shipped one turned back by 45 degrees. The St George
ribbon (painted in its own colours) and the totenkopf have no second drawing here.
"""

from __future__ import annotations

from PIL import Image

from service.classify.symbol_drawings import brushed, draw_swastika, written
from service.classify.symbol_synth import FONT_NAMES, FONTS

OTHER_FONTS = ("DejaVuSerifCondensed-Bold.ttf", "DejaVuSansMono.ttf")
assert not set(OTHER_FONTS) & set(FONT_NAMES), "the fonts here must not be the training set's"


def _swastika_brushed() -> Image.Image:
    c, a = 128.0, 70.0
    arms = [
        [(c + a, c - a), (c, c - a), (c, c + a), (c - a, c + a)],
        [(c - a, c - a), (c - a, c), (c + a, c), (c + a, c + a)],
    ]
    return brushed(arms, 26).rotate(45, Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))


def other_drawings() -> dict[str, dict[str, Image.Image]]:
    """Symbol id -> name -> drawing."""
    return {
        "z_marking": {
            "brushed": brushed([[(44, 52), (212, 52), (44, 204), (212, 204)]], 26),
            **{f"font {f.removesuffix('.ttf')}": written("Z", FONTS / f) for f in OTHER_FONTS},
        },
        "v_marking": {
            "brushed": brushed([[(44, 44), (128, 212), (212, 44)]], 28),
            **{f"font {f.removesuffix('.ttf')}": written("V", FONTS / f) for f in OTHER_FONTS},
        },
        "ss_runes": {
            "brushed": brushed(
                [
                    [(104, 24), (64, 112), (104, 132), (64, 232)],
                    [(196, 24), (156, 112), (196, 132), (156, 232)],
                ],
                20,
            ),
        },
        "swastika": {
            "brushed": _swastika_brushed(),
            "upright": draw_swastika().rotate(45, Image.Resampling.BICUBIC, fillcolor=(255, 255, 255)),
        },
        "wolfsangel": {
            "brushed": brushed(
                [
                    [(128, 32), (128, 224)],
                    [(128, 32), (188, 92)],
                    [(128, 224), (68, 164)],
                    [(72, 128), (184, 128)],
                ],
                16,
            ),
        },
    }
