#!/usr/bin/env python3
"""Draws a bench/suite results file as a PNG: for each filesystem, every
row's speed relative to native (median; log scale, native = 1, higher is
better) for each system, with gnuplot (Debian's gnuplot-nox). bench/suite
writes one next to its .json; to redraw one:

    python3 bench/plot.py RESULTS.json [OUT.png]

A --quick run's picture says in its title that its figures are not for
comparison (one repetition, small sizes).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

# Colours by system, in the suite's order; native is the line at 1.
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def plot(results_path, png_path):
    """Writes png_path; returns None, or why there is no picture."""
    if shutil.which("gnuplot") is None:
        return "gnuplot is not installed (scripts/install-deps.sh installs gnuplot-nox)"
    with open(results_path) as f:
        doc = json.load(f)
    meta, rows = doc["meta"], doc["rows"]
    fstypes = []
    systems = []
    workloads = {}  # fs -> workloads in order
    value = {}
    for r in rows:
        if r["system"] == "native":
            continue
        if r["fs"] not in fstypes:
            fstypes.append(r["fs"])
        if r["system"] not in systems:
            systems.append(r["system"])
        wl = workloads.setdefault(r["fs"], [])
        if r["workload"] not in wl:
            wl.append(r["workload"])
        if "vs_native" in r:
            value[(r["fs"], r["workload"], r["system"])] = r["vs_native"]
    if not value:
        return "no row has a ratio to native"
    # Powers of two around every ratio, native (1) included.
    low, high = min(min(value.values()), 1.0), max(max(value.values()), 1.0)
    tics = []
    exp = 0
    while 2.0 ** exp > low / 2:
        exp -= 1
    while 2.0 ** exp < high * 2:
        v = 2.0 ** exp
        tics.append(f"'{'1/' + str(int(1 / v)) if v < 1 else str(int(v))}' {v!r}")
        exp += 1
    title = (f"passthroughfs bench/suite {meta['date']}, commit {meta['commit']}, kernel "
             f"{meta['kernel']}, {meta['reps']} rep(s): speed relative to native "
             f"(median; higher is better)")
    if meta.get("quick"):
        title = "QUICK RUN (1 rep, small sizes): NOT FOR COMPARISON\n" + title
    with tempfile.TemporaryDirectory() as tmp:
        script = [
            f"set terminal pngcairo size 1600,{420 * len(fstypes) + 80} font 'sans,9'",
            f"set output {quote(png_path)}",
            "set style data histogram",
            "set style histogram clustered gap 1",
            "set style fill solid 0.9 border -1",
            "set boxwidth 0.9",
            "set logscale y 2",
            f"set yrange [{low / 1.5}:{high * 1.5}]",
            "set ytics (" + ", ".join(tics) + ")",
            "set grid ytics",
            "set xtics rotate by -35 left noenhanced",
            "set key outside right top vertical noenhanced",
            "set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb 'black' front",
            f"set multiplot layout {len(fstypes)},1 title {quote(title)} noenhanced",
        ]
        for fs in fstypes:
            dat = os.path.join(tmp, f"{fs}.dat")
            with open(dat, "w") as f:
                f.write("workload " + " ".join(systems) + "\n")
                for wl in workloads[fs]:
                    cells = [f"{value[(fs, wl, s)]:.4f}" if (fs, wl, s) in value else "-"
                             for s in systems]
                    f.write(wl + " " + " ".join(cells) + "\n")
            series = ", ".join(
                f"{quote(dat)} using {i + 2}:xtic(1) title {quote(s)} lc rgb '{COLOURS[i % len(COLOURS)]}'"
                for i, s in enumerate(systems))
            script += [f"set title 'SOURCE on {fs}' noenhanced",
                       "set datafile missing '-'",
                       "set key autotitle columnhead",
                       f"plot {series}"]
        script.append("unset multiplot")
        gp = os.path.join(tmp, "plot.gp")
        with open(gp, "w") as f:
            f.write("\n".join(script) + "\n")
        done = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
        if done.returncode != 0 or not os.path.exists(png_path):
            return f"gnuplot failed: {done.stderr.strip()[:500]}"
    return None


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.splitext(sys.argv[1])[0] + ".png"
    why = plot(sys.argv[1], out)
    if why:
        print(f"plot: {why}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
