"""How fast fluidsynth renders and how loud: `python bench/bench_render.py [BARS]`.

Prints, per General MIDI instrument, the wall time of `render_wav` for a reel of
BARS bars (default 32) at 120 bpm, its speed against real time, and the peak and RMS
level of the result, so the default gain (config.DEFAULT_GAIN) can be re-checked
against another soundfont.
"""
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from st4rt_repl.config import Config, DEFAULT_GAIN
from st4rt_repl.playback import find_soundfont, render_wav
from st4rt_repl.tune import Key, Tune

BARS = int(sys.argv[1]) if len(sys.argv) > 1 else 32
PHRASE = [[(62, '1/2'), (66, '1/2'), (69, '1/2'), (66, '1/2'), (74, '1/2'), (69, '1/2'), (66, '1/2'), (69, '1/2')],
          [(73, '1/2'), (76, '1/2'), (81, '1/2'), (76, '1/2'), (69, '1/2'), (76, '1/2'), (73, '1/2'), (76, '1/2')],
          [(74, '1/2'), (78, '1/2'), (74, '1/2'), (69, '1/2'), (71, '1/2'), (67, '1/2'), (64, '1/2'), (61, '1/2')],
          [(62, 2), (None, 1), (57, 1)]]
tune = Tune.from_bars([PHRASE[i % 4] for i in range(BARS)], key=Key("D"), title="Bench Reel", tempo=120)
seconds = float(tune.duration) * 60 / tune.tempo

print(f"soundfont {find_soundfont(Config())}, gain {DEFAULT_GAIN}, {BARS} bars = {seconds:.0f} s of music")
print(f"{'program':>8} {'render s':>9} {'x realtime':>10} {'peak':>6} {'rms':>6}")
for program in (0, 21, 22, 24, 40, 46, 73, 78, 109):
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "b.wav"
        t0 = time.perf_counter()
        render_wav(tune, out, config=Config(program=program, audio_driver="none"))
        took = time.perf_counter() - t0
        with wave.open(str(out)) as w:
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2") / 32768.0
    print(f"{program:>8} {took:>9.2f} {seconds / took:>10.1f} {np.abs(x).max():>6.3f} "
          f"{np.sqrt((x ** 2).mean()):>6.3f}")
