"""Checks the Python module: run by ctest with /usr/bin/python3 and PYTHONPATH set to the module's folder."""
import os
import sys
import tempfile

import numpy as np

import stmlens

shared = os.environ.get("STMLENS_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
scan = os.path.join(shared, "data", "real", "cda_20220819_bias_series_0007_clean.npy")

with tempfile.TemporaryDirectory() as tmp:
    stmlens._make_untrained_models(tmp)

    image, labels, atoms = stmlens.simulate(size=96, pixel_size_nm=0.1, preset="atomic", seed=3)
    assert image.shape == (96, 96) and image.dtype == np.float32, (image.shape, image.dtype)
    assert labels.shape == (96, 96) and labels.max() <= 5
    assert atoms.ndim == 2 and atoms.shape[1] == 3 and len(atoms) > 100, atoms.shape
    again, _, _ = stmlens.simulate(size=96, pixel_size_nm=0.1, preset="atomic", seed=3)
    assert np.array_equal(image, again), "simulate is deterministic by seed"

    r = stmlens.analyze(image, pixel_size_nm=0.1, models=tmp)
    assert r["schema"] == "stmlens.analysis/1"
    assert r["image"]["width"] == 96 and r["image"]["height"] == 96
    assert isinstance(r["atoms"], list) and isinstance(r["defects"], list)

    # The array and the file give the same analysis (timings and source aside).
    from_file = stmlens.analyze_file(scan, pixel_size_nm=(0.097, 0.100), models=tmp)
    from_array = stmlens.analyze(np.load(scan).astype(np.float64), pixel_size_nm=(0.097, 0.100), models=tmp)
    for key in ("atoms", "defects", "assessment", "lattice"):
        assert from_file[key] == from_array[key], key

    # The row contrast can be given per call; the result says which was used.
    given = stmlens.analyze_file(scan, pixel_size_nm=(0.097, 0.100), models=tmp, row_contrast="inverted")
    assert given["lattice"]["row_contrast"] == "inverted", given["lattice"]
    assert stmlens.analyze(image, pixel_size_nm=0.1, models=tmp, row_contrast="normal")["lattice"]["row_contrast"] == "normal"

    # 'lattice': the pixel size from the dimer rows (this frame's 0.097 x 0.099 nm), for a file and an array alike.
    cal_file = stmlens.analyze_file(scan, pixel_size_nm="lattice", models=tmp)
    cal_array = stmlens.analyze(np.load(scan), pixel_size_nm="lattice", models=tmp)
    for cal in (cal_file, cal_array):
        assert cal["image"]["pixel_size_source"] == "calibrated", cal["image"]
        assert abs(cal["image"]["pixel_size_nm"][0] - 0.097) < 0.0015, cal["image"]
        assert abs(cal["image"]["pixel_size_nm"][1] - 0.099) < 0.0025, cal["image"]

    for bad in (lambda: stmlens.analyze_file(os.path.join(tmp, "missing.sxm"), models=tmp),
                lambda: stmlens.analyze(image, pixel_size_nm="rows", models=tmp),
                lambda: stmlens.analyze(np.ones((128, 128), np.float32), pixel_size_nm="lattice", models=tmp),
                lambda: stmlens.analyze(image, pixel_size_nm=0.1, models=tmp, row_contrast="dark"),
                lambda: stmlens.analyze(np.zeros((4, 4, 4), np.float32), models=tmp),
                lambda: stmlens.analyze(image, pixel_size_nm=-1, models=tmp),
                lambda: stmlens.simulate(preset="no-such-preset")):
        try:
            bad()
        except ValueError as e:
            assert str(e)
        else:
            sys.exit("expected ValueError")

print("python module OK")
