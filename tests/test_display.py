"""What the REPL shows of a tune with written form: repeat signs, endings, parts, chords, written bar numbers."""
from st4rt_repl import display
from st4rt_repl.engine import Proposal
from st4rt_repl.formats import parse_abc_text
from st4rt_repl.tune import Bar

FORM = """X:1
T:Form
M:4/4
L:1/8
P:AB
K:D
P:A
|:"D"DEFG ABcd|"G"B2AG FGAB|1 A8:|2 d8||
P:B
|:fgaf gfed|"A7"cBAG FGAB:|
"""


def test_the_abc_panel_shows_the_written_form():
    t = parse_abc_text(FORM).tune
    text = display.text_of(display.abc_panel(t), width=120)
    lines = [ln.strip("│ ") for ln in text.splitlines()]
    assert "P:A" in lines and "P:B" in lines
    assert '1 |: "D"DEFG ABcd | "G"B2AG FGAB | [1 A8 :| [2 d8 ||' in lines
    assert '5 |: fgaf gfed | "A7"cBAG FGAB :|' in lines        # written bar 5 (6 bars, 10 played)


def test_changed_bars_are_marked_in_written_numbers():
    t = parse_abc_text(FORM).tune
    new = t.replace_bars(2, 2, [Bar(t.bar(1).notes, (4, 4))])      # plain notes: bar 2's form stays
    group = display.render_proposal(1, Proposal(new, (2,)), piece=t)
    text = display.text_of(group, width=120)
    assert "Candidate 1  bar 2 changed, 6 bars in all" in text
    assert '"G"DEFG ABcd*' in text            # the bar keeps its chord symbol, the notes change


def test_the_piano_roll_marks_repeats_endings_and_parts():
    t = parse_abc_text(FORM).tune
    rows = display.text_of(display.piano_roll(t, width=200), width=200).splitlines()
    marks, numbers = rows[0], rows[1]
    col = {n: numbers.index(str(n)) for n in range(1, 7)}
    assert marks[col[1]:col[1] + 4] == "A |:"
    assert marks[col[3]:col[3] + 2] == "[1" and marks[col[4] - 2:col[4]] == ":|"
    assert marks[col[4]:col[4] + 2] == "[2" and marks[col[5] - 2:col[5]] == "||"
    assert marks[col[5]:col[5] + 4] == "B |:" and marks.rstrip().endswith(":|")


def test_a_tune_without_form_has_no_marker_row():
    t = parse_abc_text(FORM).tune.unfolded()
    rows = display.text_of(display.piano_roll(t, width=300), width=300).splitlines()
    assert rows[0].split() == [str(n) for n in range(1, 11)]
