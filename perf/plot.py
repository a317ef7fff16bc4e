#!/usr/bin/env python3
"""Turn a qkdperf JSON results file into one PNG bar chart per benchmark (gnuplot)."""
import json
import os
import subprocess
import sys
import tempfile


def main(argv):
    if len(argv) != 2:
        print("usage: plot.py RESULTS.json OUTDIR", file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        results = json.load(f)
    os.makedirs(argv[1], exist_ok=True)
    by_name = {}
    for r in results:
        by_name.setdefault(r["name"], []).append(r)
    for name, rows in by_name.items():
        sizes = sorted({r["input_size"] for r in rows})
        variants = []
        for r in rows:
            if r["variant"] not in variants:
                variants.append(r["variant"])
        table = {(r["input_size"], r["variant"]): r["throughput"] for r in rows}
        unit = rows[0]["unit"]
        with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as dat:
            dat.write("size " + " ".join(v.replace(" ", "_") for v in variants) + "\n")
            for s in sizes:
                dat.write(str(s) + " " + " ".join(str(table.get((s, v), "?")) for v in variants) + "\n")
        png = os.path.join(argv[1], name + ".png")
        cols = " , ".join(f"'{dat.name}' using {i + 2}:xtic(1) title columnhead" for i in range(len(variants)))
        script = f"""
set terminal pngcairo size 900,500 noenhanced
set output '{png}'
set title '{name} ({rows[0].get("cpu_model", "")})'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel '{unit}'
set xlabel 'input size'
set key top right
set grid ytics
set datafile missing '?'
plot {cols}
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
        os.unlink(dat.name)
        print("wrote", png)
    return 0


sys.exit(main(sys.argv[1:]))
