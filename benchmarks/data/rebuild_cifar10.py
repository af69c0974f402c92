#!/usr/bin/env python3
"""Rebuild CIFAR-10 in the keras.datasets.cifar10 .npz layout from public GitHub PNG copies.

Usage:
    python rebuild_cifar10.py TRAIN_GIT_DIR TEST_GIT_DIR [OUT.npz]
                              [--train-rev REV] [--test-rev REV]

  TRAIN_GIT_DIR  git dir of SteveyyP/Image-Search   (PNGs under static/images/<i>_<label>.png)
  TEST_GIT_DIR   git dir of iidsample/test_c_code   (PNGs under data/cifar/test/<i>_<label>.png)
  OUT.npz        default: cifar10.npz next to this script

The git dirs may be bare (no work tree); blobs are read with `git cat-file --batch`,
so nothing is checked out. <i> in the file names is 0-based and gives the position in
the official order (image i -> row i). Labels come from the class name in the file name.
"""

import argparse
import io
import os
import re
import subprocess
import sys
import time

import numpy as np
from PIL import Image

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CLASS_INDEX = {c: k for k, c in enumerate(CLASSES)}
NAME_RE = re.compile(r"^(\d+)_([a-z]+)\.png$")


def git(gitdir, *args):
    return subprocess.run(
        ["git", "--git-dir", gitdir, *args], check=True, capture_output=True
    ).stdout


def list_pngs(gitdir, rev, folder):
    """[(index, label, blob_sha)] for folder/<i>_<label>.png at rev."""
    out = git(gitdir, "ls-tree", "-z", rev, folder.rstrip("/") + "/").decode()
    rows = []
    for entry in out.split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        mode, typ, sha = meta.split()
        m = NAME_RE.match(os.path.basename(path))
        if typ != "blob" or not m:
            raise SystemExit(f"unexpected entry in {folder}: {entry!r}")
        if m.group(2) not in CLASS_INDEX:
            raise SystemExit(f"unknown class name in {path}")
        rows.append((int(m.group(1)), CLASS_INDEX[m.group(2)], sha))
    return rows


def read_blobs(gitdir, shas):
    """Yield blob contents in order, using one `git cat-file --batch` process."""
    p = subprocess.Popen(
        ["git", "--git-dir", gitdir, "cat-file", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    # feed all requests from a thread-free loop: write in chunks, read as we go
    pending = list(shas)
    pos = 0
    chunk = 256
    while pos < len(pending):
        batch = pending[pos : pos + chunk]
        p.stdin.write("".join(s + "\n" for s in batch).encode())
        p.stdin.flush()
        for s in batch:
            header = p.stdout.readline().decode().split()
            if len(header) != 3 or header[0] != s or header[1] != "blob":
                raise SystemExit(f"git cat-file failed for {s}: {header}")
            size = int(header[2])
            data = p.stdout.read(size)
            p.stdout.read(1)  # trailing newline
            yield data
        pos += chunk
    p.stdin.close()
    p.wait()


def build(gitdir, rev, folder, n_expected):
    rows = list_pngs(gitdir, rev, folder)
    idx = sorted(r[0] for r in rows)
    if len(rows) != n_expected or idx != list(range(n_expected)):
        raise SystemExit(
            f"{gitdir}:{folder}: expected indices 0..{n_expected - 1}, "
            f"got {len(rows)} files, min {idx[0]}, max {idx[-1]}"
        )
    x = np.zeros((n_expected, 32, 32, 3), np.uint8)
    y = np.zeros((n_expected, 1), np.uint8)
    modes = {}
    rows.sort()
    for (i, label, _), data in zip(rows, read_blobs(gitdir, [r[2] for r in rows]), strict=True):
        im = Image.open(io.BytesIO(data))
        if im.format != "PNG":
            raise SystemExit(f"image {i} is {im.format}, not PNG")
        modes[im.mode] = modes.get(im.mode, 0) + 1
        if im.mode not in ("RGB", "P"):  # P -> RGB is lossless; RGBA/L would not be CIFAR
            raise SystemExit(f"image {i}: unexpected mode {im.mode}")
        a = np.asarray(im.convert("RGB"))
        if a.shape != (32, 32, 3):
            raise SystemExit(f"image {i}: shape {a.shape}")
        x[i] = a
        y[i, 0] = label
    print(f"  {folder}: {n_expected} PNGs, modes {modes}", flush=True)
    return x, y


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("train_git_dir")
    ap.add_argument("test_git_dir")
    ap.add_argument(
        "out",
        nargs="?",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "cifar10.npz"),
    )
    ap.add_argument("--train-rev", default="HEAD")
    ap.add_argument("--test-rev", default="HEAD")
    a = ap.parse_args()

    t0 = time.time()
    for name, gd, rev in (
        ("train", a.train_git_dir, a.train_rev),
        ("test", a.test_git_dir, a.test_rev),
    ):
        print(f"{name}: {gd} @ {git(gd, 'rev-parse', rev + '^{commit}').decode().strip()}")
    x_train, y_train = build(a.train_git_dir, a.train_rev, "static/images", 50000)
    x_test, y_test = build(a.test_git_dir, a.test_rev, "data/cifar/test", 10000)
    np.savez_compressed(a.out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes) in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    sys.exit(main())
