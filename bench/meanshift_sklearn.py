#!/usr/bin/python3
"""scikit-learn's MeanShift on the points the C++ bench wrote, as the peer for bench_meanshift_speed.

usage: meanshift_sklearn.py points.npy truth.npy bandwidth [n_jobs]
Prints 'seconds S', 'clusters K', 'ari A', 'nmi N' (one per line).
"""
import sys
import time

import numpy as np
from sklearn.cluster import MeanShift
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

points = np.load(sys.argv[1])
truth = np.load(sys.argv[2])
bandwidth = float(sys.argv[3])
n_jobs = int(sys.argv[4]) if len(sys.argv) > 4 else 2

t0 = time.perf_counter()
ms = MeanShift(bandwidth=bandwidth, bin_seeding=True, n_jobs=n_jobs).fit(points)
seconds = time.perf_counter() - t0
print(f"seconds {seconds:.3f}")
print(f"clusters {len(ms.cluster_centers_)}")
print(f"ari {adjusted_rand_score(truth, ms.labels_):.4f}")
print(f"nmi {normalized_mutual_info_score(truth, ms.labels_):.4f}")
