#!/usr/bin/env python3
"""Verify a rebuilt CIFAR-10 .npz (keras.datasets.cifar10 layout) against the reference checks.

Usage:
    python verify_cifar10.py [NPZ] [--kaggle-git-dir DIR] [--cleanlab-git-dir DIR]

  NPZ                default: cifar10.npz next to this script
  --kaggle-git-dir   git dir of notharsh/CIFARclass   (trainLabels.csv: id 1..50000, label name)
  --cleanlab-git-dir git dir of cleanlab/label-errors
                     (original_test_labels/cifar10_test_set_original_labels.npy)

Prints one line per check with PASS/FAIL; exit status 1 if any check fails.
"""

import argparse
import csv
import io
import os
import subprocess
import sys

import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
MIRROR = "/work/.mirror"

results = []


def check(name, ok, detail=""):
    ok = bool(ok)
    results.append(ok)
    print(f"[{'PASS' if ok else 'FAIL'}] {name}" + (f" -- {detail}" if detail else ""), flush=True)


def git_show(gitdir, spec):
    return subprocess.run(
        ["git", "--git-dir", gitdir, "show", spec], check=True, capture_output=True
    ).stdout


def git_head(gitdir):
    return subprocess.run(
        ["git", "--git-dir", gitdir, "rev-parse", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "npz",
        nargs="?",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "cifar10.npz"),
    )
    ap.add_argument("--kaggle-git-dir", default=f"{MIRROR}/notharsh+CIFARclass/repo/.git")
    ap.add_argument("--cleanlab-git-dir", default=f"{MIRROR}/cleanlab+label-errors/repo")
    a = ap.parse_args()

    print(f"npz: {a.npz} ({os.path.getsize(a.npz)} bytes)")
    with np.load(a.npz, allow_pickle=False) as d:
        data = {k: d[k] for k in d.files}
    check(
        "npz loads with np.load(allow_pickle=False); keys",
        sorted(data) == ["x_test", "x_train", "y_test", "y_train"],
        str(sorted(data)),
    )
    x_train, y_train = data["x_train"], data["y_train"]
    x_test, y_test = data["x_test"], data["y_test"]

    # --- layout -----------------------------------------------------------------
    want = {
        "x_train": (50000, 32, 32, 3),
        "y_train": (50000, 1),
        "x_test": (10000, 32, 32, 3),
        "y_test": (10000, 1),
    }
    for k, shp in want.items():
        v = data[k]
        check(
            f"{k} shape {shp} dtype uint8",
            v.shape == shp and v.dtype == np.uint8,
            f"{v.shape} {v.dtype}",
        )
    for k, n in (("y_train", 5000), ("y_test", 1000)):
        cnt = np.bincount(data[k].ravel(), minlength=10)
        check(
            f"{k} values in 0..9, {n} per class",
            len(cnt) == 10 and (cnt == n).all(),
            str(cnt.tolist()),
        )

    # --- labels vs Kaggle trainLabels.csv ---------------------------------------
    print(f"kaggle labels: {a.kaggle_git_dir} @ {git_head(a.kaggle_git_dir)}:trainLabels.csv")
    text = git_show(a.kaggle_git_dir, "HEAD:trainLabels.csv").decode()
    kag = {}
    for row in csv.DictReader(io.StringIO(text)):
        kag[int(row["id"])] = CLASSES.index(row["label"])
    ids_ok = sorted(kag) == list(range(1, 50001))
    kag_y = np.array([kag[i] for i in range(1, 50001)], np.uint8) if ids_ok else None
    n_diff = int((kag_y != y_train[:, 0]).sum()) if ids_ok else -1
    check(
        "all 50,000 train labels == Kaggle trainLabels.csv (id k -> row k-1)",
        ids_ok and n_diff == 0,
        f"{len(kag)} csv rows, ids 1..50000: {ids_ok}, mismatches: {n_diff}",
    )

    # --- labels vs cleanlab original test labels --------------------------------
    p = "original_test_labels/cifar10_test_set_original_labels.npy"
    print(f"cleanlab labels: {a.cleanlab_git_dir} @ {git_head(a.cleanlab_git_dir)}:{p}")
    cl = np.load(io.BytesIO(git_show(a.cleanlab_git_dir, f"HEAD:{p}")), allow_pickle=False)
    same_len = cl.shape == (10000,)
    n_diff = int((cl != y_test[:, 0]).sum()) if same_len else -1
    check(
        "all 10,000 test labels == cleanlab cifar10_test_set_original_labels.npy",
        same_len and n_diff == 0,
        f"npy shape {cl.shape} {cl.dtype}, mismatches: {n_diff}",
    )

    # --- pixel spot checks (pin the official image order) -----------------------
    ref = [[59, 62, 63], [43, 46, 45], [50, 48, 43], [68, 54, 42]]
    got = x_train[0][0][:4].tolist()
    check(
        "x_train[0][0][:4] == [[59,62,63],[43,46,45],[50,48,43],[68,54,42]]", got == ref, str(got)
    )
    ref = [[158, 112, 49], [159, 111, 47], [165, 116, 51]]
    got = x_test[0][0][:3].tolist()
    check("x_test[0][0][:3] == [[158,112,49],[159,111,47],[165,116,51]]", got == ref, str(got))

    # --- train per-channel statistics of x/255 ----------------------------------
    xf = x_train.reshape(-1, 3).astype(np.float64) / 255.0
    mean, std = xf.mean(axis=0), xf.std(axis=0)  # population std (ddof=0)
    ref_mean = np.array([0.49139968, 0.48215841, 0.44653091])
    ref_std = np.array([0.24703223, 0.24348513, 0.26158784])
    tol = 5e-8  # reference values are given to 8 decimals
    check(
        "train mean/255 == [0.49139968, 0.48215841, 0.44653091] (|diff| <= 5e-8)",
        np.abs(mean - ref_mean).max() <= tol,
        f"{np.round(mean, 10).tolist()}, max|diff| {np.abs(mean - ref_mean).max():.2e}",
    )
    check(
        "train std/255  == [0.24703223, 0.24348513, 0.26158784] (|diff| <= 5e-8)",
        np.abs(std - ref_std).max() <= tol,
        f"{np.round(std, 10).tolist()}, max|diff| {np.abs(std - ref_std).max():.2e}",
    )

    n_fail = results.count(False)
    print(
        f"{len(results) - n_fail}/{len(results)} checks passed"
        + ("" if n_fail == 0 else f", {n_fail} FAILED")
    )
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
