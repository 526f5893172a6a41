"""Published figures the reports print beside bench's measurements (never used as results).

Sources (REFERENCE.md): NeuroBench's per-session baseline figures (section 3), the AEGRU paper's
Table II / Table III (section 4) and its AEGRU figures (section 5), the BioCAS 2024 challenge
entries on NeuroBench's leaderboard (section 6) and the ZenkeLab RSNNs' per-session figures
(section 8: their results summaries, means of five seeds per session). All on the real
recordings.
"""

from __future__ import annotations

# The six NeuroBench sessions in the order every per-session list below uses.
SESSIONS = ("indy_20160622_01", "indy_20160630_01", "indy_20170131_02", "loco_20170210_03", "loco_20170215_02", "loco_20170301_05")

# Per-session figures: {display name: {metric: [six values in SESSIONS order]}}. Metric names
# as bench stores them (R2, Footprint in bytes, Effective_MACs, Effective_ACs, Dense,
# ConnectionSparsity, ActivationSparsity).
PUBLISHED_REACHING: dict[str, dict[str, list[float]]] = {
    "ANN2D": {
        "Footprint": [20824] * 3 + [33496] * 3,
        "Dense": [4704] * 3 + [7776] * 3,
        "Effective_MACs": [4306.3, 3595.2, 3607.3, 5852.0, 5995.0, 6462.8],
        "Effective_ACs": [0.0] * 6,
        "R2": [0.6327, 0.5241, 0.6217, 0.5727, 0.4746, 0.6272],
    },
    "ANN3D": {
        "Footprint": [94552] * 3 + [180952] * 3,
        "Dense": [23136] * 3 + [44640] * 3,
        "Effective_MACs": [10443.1, 7005.9, 6213.9, 14398.1, 14647.9, 16333.5],
        "Effective_ACs": [0.0] * 6,
        "R2": [0.6739, 0.5933, 0.6587, 0.5970, 0.5282, 0.6411],
    },
    "SNN3D": {
        "Footprint": [24972] * 3 + [43020] * 3,
        "Dense": [32928] * 3 + [54432] * 3,
        "Effective_MACs": [21504.0] * 3 + [43008.0] * 3,
        "Effective_ACs": [6321.5, 7215.4, 5009.0, 4860.2, 5612.5, 5969.9],
        "R2": [0.6968, 0.5772, 0.6517, 0.6226, 0.5677, 0.6813],
    },
    "SNN Streaming": {
        "Footprint": [19648] * 3 + [38848] * 3,
        "Dense": [4900] * 3 + [9700] * 3,
        "Effective_MACs": [0.0] * 6,
        "Effective_ACs": [396.6, 244.4, 185.9, 510.4, 558.8, 584.9],
        "R2": [0.6774, 0.5011, 0.5994, 0.5707, 0.5145, 0.6202],
    },
    # ZenkeLab's RSNNs (REFERENCE.md section 8, their per-session results summaries).
    "tinyRSNN": {
        "Footprint": [21000] * 3 + [33288] * 3,
        "Dense": [10368] * 3 + [16512] * 3,
        "ConnectionSparsity": [0.4699, 0.4499, 0.5, 0.44, 0.42, 0.4499],
        "ActivationSparsity": [0.9838, 0.9853, 0.9842, 0.9831, 0.9832, 0.982],
        "Effective_MACs": [0.0] * 6,
        "Effective_ACs": [299.492, 196.8419, 143.196, 354.0949, 404.7288, 426.558],
        "R2": [0.7519, 0.5445, 0.7461, 0.6221, 0.6077, 0.6899],
    },
    "bigRSNN": {
        "Footprint": [4636752] * 3 + [5029968] * 3,
        "Dense": [1157120] * 3 + [1255424] * 3,
        "ConnectionSparsity": [0.0] * 6,
        "ActivationSparsity": [0.9622, 0.9718, 0.9721, 0.9677, 0.9674, 0.9686],
        "Effective_MACs": [0.0] * 6,
        "Effective_ACs": [48096.8936, 34837.3386, 33288.9329, 44664.1649, 45945.225, 45188.6082],
        "R2": [0.7697, 0.5848, 0.7717, 0.6981, 0.6287, 0.734],
    },
}
# Which bench entry (registry name) each published row is, so the site can put it beside it.
PUBLISHED_ENTRY = {"ANN2D": "ann2d", "ANN3D": "ann3d", "SNN3D": "snn3d", "SNN Streaming": "snn-streaming",
                   "tinyRSNN": "tinyrsnn", "bigRSNN": "bigrsnn", "AEGRU w/o pruning": "aegru", "AEGRU 50% pruning": "aegru"}
# Where each published row comes from (shown with it).
PUBLISHED_SOURCE = {
    "ANN2D": "NeuroBench (Yik et al. 2025), per-session figures of the published weights",
    "ANN3D": "NeuroBench (Yik et al. 2025), per-session figures of the published weights",
    "SNN3D": "NeuroBench (Yik et al. 2025), per-session figures of the published weights",
    "SNN Streaming": "NeuroBench (Yik et al. 2025), per-session figures of the published weights",
    "tinyRSNN": "Liu et al., BioCAS 2024 (ZenkeLab), 5-seed means per session",
    "bigRSNN": "Liu et al., BioCAS 2024 (ZenkeLab), 5-seed means per session",
    "AEGRU w/o pruning": "Wang, Wang, Liu, BioCAS 2024, Table II (mean ± std only)",
    "AEGRU 50% pruning": "Wang, Wang, Liu, BioCAS 2024, Table II (mean ± std only)",
}

# The AEGRU paper's own Table II rows, given only as mean ± std: (R2, Footprint kB, MACs + ACs k).
PUBLISHED_TABLE2_AEGRU = {
    "AEGRU w/o pruning": ("0.70 ± 0.06", "45.5 ± 6.3", "42.8 ± 4.1"),
    "AEGRU 50% pruning": ("0.71 ± 0.05", "45.5 ± 6.3", "25.1 ± 3.3"),
}

# The AEGRU paper's Table III (R2 mean ± std over 5 seeds); it labels loco_20170210_03
# 'loco_20170131_02'.
PUBLISHED_TABLE3 = (
    ("indy_20160622_01", "0.74 ± 0.006", "0.76 ± 0.014"),
    ("indy_20160630_01", "0.64 ± 0.011", "0.65 ± 0.008"),
    ("indy_20170131_02", "0.75 ± 0.004", "0.76 ± 0.006"),
    ("loco_20170210_03", "0.61 ± 0.017", "0.68 ± 0.013"),
    ("loco_20170215_02", "0.60 ± 0.009", "0.62 ± 0.014"),
    ("loco_20170301_05", "0.66 ± 0.013", "0.70 ± 0.015"),
    ("Average", "0.67 ± 0.005", "0.70 ± 0.008"),
)

# AEGRU as its paper reports it (REFERENCE.md section 5): per-session R2 (5-seed means) and the
# mean footprint; dense and effective MACs of the 50%-pruned model are given only approximately.
AEGRU_R2_PER_SESSION = (0.763, 0.653, 0.763, 0.682, 0.624, 0.704)
AEGRU_FOOTPRINT_MEAN = 45520
AEGRU_DENSE_APPROX = "≈54.3k"

# The BioCAS 2024 challenge field as NeuroBench's leaderboard lists it (REFERENCE.md sections 6
# and 8): R2, footprint (B), connection sparsity, activation sparsity, dense SynOps, effective
# MACs, effective ACs. "n/a" as the leaderboard prints it; None: the figure is not among bench's
# reference facts.
CHALLENGE_FIELD = (
    ("bigSNN (bigRSNN)", 0.698, 4833360, 0.0, 0.968, 1206272, 0, 42003),
    ("GRU-t1", 0.707, "n/a", None, None, 22342, 8518, 793),
    ("tinyRSNN", 0.660, 27144, 0.455, 0.984, 13440, 0, 304),
    ("GRU-t2", 0.621, 174104, None, None, 4947, 627, 248),
)

# The grasp paper (REFERENCE.md section 7).
PUBLISHED_GRASP_TABLE3 = "Published (real sessions): accuracy ≥ 98% and F1 ≥ 0.95 on all six sessions."
# Table 5: train + validation share -> (accuracy %, relaxed accuracy %), real data.
PUBLISHED_GRASP_TABLE5 = {0.8: (74.1, 98.3), 0.7: (70.1, 97.1), 0.6: (69.0, 93.7), 0.5: (62.8, 94.0), 0.4: (63.8, 92.8), 0.3: (59.2, 87.5), 0.2: (51.0, 81.0)}
