"""`fold`: repeats found again in MIDI, which has none (issue 10, item 6).

Known AABB tunes are rendered to MIDI by abc2midi (the real tool), read back with
read_midi (32 played bars) and folded: the written bar count and the repeat signs
come back, and the folded tune performs exactly the notes of the file.
"""
import subprocess

import pytest

from st4rt_repl.fold import fold
from st4rt_repl.formats import abc2midi
from st4rt_repl.formats.abc_in import read_abc_text
from st4rt_repl.formats.midi import read_midi
from st4rt_repl.tune import Tune

needs_abc2midi = pytest.mark.skipif(not abc2midi.available(), reason="abc2midi not installed")

REEL = """X:1
T:Fold Reel
M:4/4
L:1/8
K:D
|:d2fd AdFA|GBdB AFEF|DFAd fdAF|GBAG FDD2|
d2fd AdFA|GBdB AFEF|DFAd fagf|edcB A4:|
|:a2fa bafa|g2eg fedf|a2fa bafa|gfed e4|
a2fa bafa|g2eg fedB|AFAd fagf|edcB A4:|
"""

JIG = """X:2
T:Fold Jig
M:6/8
L:1/8
K:G
|:GAG GAB|ABA ABd|edd gdd|1 edB dBA:|2 edB d2B||
|:gfg age|dBG AGE|DEG ABd|ede g3:|
"""


def _render(abc: str, tmp_path) -> Tune:
    src, out = tmp_path / "t.abc", tmp_path / "t.mid"
    src.write_text(abc)
    subprocess.run(["abc2midi", str(src), "-o", str(out)], capture_output=True, check=True)
    return read_midi(out).tune


@needs_abc2midi
@pytest.mark.parametrize("abc,written,played", [(REEL, 16, 32), (JIG, 9, 16)])
def test_fold_recovers_the_repeats_of_rendered_midi(abc, written, played, tmp_path):
    sheet = read_abc_text(abc).tune
    flat = _render(abc, tmp_path)
    assert (sheet.num_bars, flat.num_bars, flat.has_form) == (written, played, False)
    folded = fold(flat)
    assert folded.num_bars == written and folded.num_played_bars == played
    assert folded.performed().sounding() == flat.sounding() == sheet.performed().sounding()
    # the same written form as the sheet: repeat signs and endings on the same bars
    form = [(b.repeat_start, b.barline == ":|", b.ending) for b in folded.bars]
    assert form == [(b.repeat_start, b.barline == ":|", b.ending) for b in sheet.bars]


def test_fold_leaves_tunes_without_verbatim_repeats_alone():
    t = Tune.from_bars([[(60 + k, 4)] for k in range(12)])
    assert fold(t) == t
    written = t.with_repeat(1, 4)
    assert fold(written) is written           # already has a written form


def test_fold_prefers_eight_bar_sections_and_unfold_is_its_inverse():
    a = [[(60 + k, 2)] for k in range(8)]
    t = Tune.from_bars(a + a + [[(72, 4)]], meter=(2, 4))
    f = fold(t)
    assert f.num_bars == 9 and f.bar(1).repeat_start and f.bar(8).barline == ":|"
    assert f.unfolded().sounding() == t.sounding()
    # four-bar halves of an eight-bar section are not taken apart
    assert fold(Tune.from_bars(a[:4] * 4, meter=(2, 4))).num_bars == 8
