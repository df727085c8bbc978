"""How soon is `st4rt` usable?  Prints (medians over runs):

  prompt       seconds from launch until the prompt is on screen (goal <= 0.5 s)
  first reply  seconds from launch until the first proposal, with the tune pasted and
               `continue 4 bars` typed the moment the prompt appears (goal <= 2.5 s);
               if a model has not landed this times its one-line "not available" answer
  script       `st4rt --script` wall time for: paste a tune + continue 4 bars

Runs the real program in a pseudo-terminal (stdlib pty), with ST4RT_HOME in a
temporary folder.  Usage: python bench/bench_startup.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import pty
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ST4RT = str(Path(sys.executable).with_name("st4rt"))
TUNE = ("X:1\nT:The Kesh\nM:6/8\nL:1/8\nK:G\nD|GAG GAB|ABA ABd|edd gdd|edB dBA|\n"
        "GAG GAB|ABA ABd|edd gdB|AGF G2|\n")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[=>]")


def _env(home: str) -> dict:
    env = dict(os.environ, ST4RT_HOME=home, TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1",
               COLUMNS="120", LINES="40")
    return env


def _read_until(fd: int, pattern: bytes, deadline: float, seen: bytearray) -> bool:
    while time.perf_counter() < deadline:
        r, _, _ = select.select([fd], [], [], 0.01)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            seen += chunk
            if re.search(pattern, ANSI.sub(b"", bytes(seen))):
                return True
    return False


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (Linux /proc), all threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(home: str) -> tuple[float, float, float | None, float | None, str]:
    """Seconds (wall, CPU) to the prompt and (wall, CPU) to the first proposal, and the reply.

    CPU seconds show what the start costs when the machine is not shared: on a busy
    machine wall time waits for other processes.
    """
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(ST4RT, [ST4RT, "--new", "--seed", "1"], _env(home))
    seen = bytearray()
    ok = _read_until(fd, rb"st4rt> ", t0 + 30, seen)
    t_prompt = time.perf_counter() - t0 if ok else float("nan")
    c_prompt = cpu_seconds(pid)
    os.write(fd, b"\x1b[200~" + TUNE.encode() + b"\x1b[201~")
    os.write(fd, b"continue 4 bars\r")
    seen.clear()
    ok = _read_until(fd, rb"Candidate 1|error: [^\r\n]*\r?\n", time.perf_counter() + 60, seen)
    t_reply = time.perf_counter() - t0 if ok else None
    c_reply = cpu_seconds(pid) if ok else None
    text = ANSI.sub(b"", bytes(seen)).decode("utf-8", "replace")
    m = re.search(r"error: [^\r\n]*", text)
    what = m.group(0) if m else ("proposals" if ok else "timeout")
    os.write(fd, b"quit\r")
    _read_until(fd, rb"$^", time.perf_counter() + 3, seen)
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
    os.close(fd)
    return t_prompt, c_prompt, t_reply, c_reply, what


def script_run(home: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([ST4RT, "--new", "--seed", "1"], input=TUNE + "\ncontinue 4 bars\n",
                   text=True, capture_output=True, env=_env(home), timeout=120)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    prompts, cprompts, replies, creplies, scripts, whats = [], [], [], [], [], set()
    with tempfile.TemporaryDirectory(prefix="st4rt-bench-") as home:
        for _ in range(args.runs):
            p, cp, r, cr, what = one_run(home)
            prompts.append(p)
            cprompts.append(cp)
            whats.add(what)
            if r is not None:
                replies.append(r)
                creplies.append(cr)
            scripts.append(script_run(home))
    print(f"prompt       median {statistics.median(prompts):.3f} s wall, "
          f"{statistics.median(cprompts):.3f} s CPU  "
          f"(wall min {min(prompts):.3f}, max {max(prompts):.3f}; goal <= 0.5 s)")
    if replies:
        print(f"first reply  median {statistics.median(replies):.3f} s wall, "
              f"{statistics.median(creplies):.3f} s CPU (all threads)  "
              f"(wall min {min(replies):.3f}, max {max(replies):.3f}; goal <= 2.5 s)")
    print(f"             reply was: {'; '.join(sorted(whats))}")
    print(f"script       median {statistics.median(scripts):.3f} s  (paste + continue 4 bars)")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
