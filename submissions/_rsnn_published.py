"""Published NeuroBench figures of the ZenkeLab RSNNs (BioCAS 2024), for tables and tests.

From their results summaries (../shared/tinyrsnn-weights/results_summary_*.json, REFERENCE.md
section 8): means of five seeds per real session, NeuroBench 2.3 metrics, in bench's metric
names. Data-independent figures (Footprint, Dense, ConnectionSparsity) follow from the weights;
the others were measured on the real recordings. ``tests/test_rsnn.py`` checks these values
against the shared files and the data-independent ones against the published weights.

``PER_SEED_ORDER``: the per-seed lists of ``per_seed/results_tinyRSNN_<session>.json`` are in
the order of the weight files tinyRSNN-5, -4, -1, -3, -2 (the only order under which all 30
connection sparsities equal those of the files; the same in all six sessions).
"""

from __future__ import annotations

SESSIONS = ("indy_20160622_01", "indy_20160630_01", "indy_20170131_02", "loco_20170210_03", "loco_20170215_02", "loco_20170301_05")

PER_SEED_ORDER = (5, 4, 1, 3, 2)  # weight-file seed of each position in the per-seed JSON lists


def _row(footprint: int, dense: int, conn: float, act: float, acs: float, r2: float) -> dict[str, float]:
    return {"Footprint": footprint, "Dense": dense, "ConnectionSparsity": conn, "ActivationSparsity": act,
            "Effective_MACs": 0.0, "Effective_ACs": acs, "R2": r2}


# entry -> session -> metric -> value (5-seed mean), plus "mean" over the six sessions
PUBLISHED: dict[str, dict[str, dict[str, float]]] = {
    "tinyrsnn": {
        "indy_20160622_01": _row(21000, 10368, 0.46988, 0.983827615917737, 299.4919838788655, 0.7519341588020325),
        "indy_20160630_01": _row(21000, 10368, 0.44986, 0.9853399794311455, 196.84190834295072, 0.5445366978645325),
        "indy_20170131_02": _row(21000, 10368, 0.5, 0.984236007176299, 143.19595517691306, 0.7460524082183838),
        "loco_20170210_03": _row(33288, 16512, 0.43996, 0.9830958731687811, 354.09485332073143, 0.6220667958259583),
        "loco_20170215_02": _row(33288, 16512, 0.41996, 0.9832411938016907, 404.72875863961224, 0.6077233195304871),
        "loco_20170301_05": _row(33288, 16512, 0.44994, 0.9820052899169276, 426.557992185575, 0.68994300365448),
        "mean": _row(27144, 13440, 0.45493333333333336, 0.9836243265687634, 304.15190859077467, 0.6603760639826456),
    },
    "bigrsnn": {
        "indy_20160622_01": _row(4636752, 1157120, 0.0, 0.9622453838303702, 48096.893644205054, 0.7696943163871766),
        "indy_20160630_01": _row(4636752, 1157120, 0.0, 0.9718162302862421, 34837.33860243476, 0.5847989797592164),
        "indy_20170131_02": _row(4636752, 1157120, 0.0, 0.9721470606135831, 33288.93294189884, 0.7717169880867004),
        "loco_20170210_03": _row(5029968, 1255424, 0.0, 0.9676857701683994, 44664.16492347959, 0.6981177210807801),
        "loco_20170215_02": _row(5029968, 1255424, 0.0, 0.9674195645365966, 45945.224970929085, 0.6286545395851135),
        "loco_20170301_05": _row(5029968, 1255424, 0.0, 0.9686387346439508, 45188.60822978633, 0.7340290784835816),
        "mean": _row(4833360, 1206272, 0.0, 0.9683254573465238, 42003.52721878894, 0.6978352705637613),
    },
}

# tinyRSNN connection sparsity per weight file (seed 1..5), as NeuroBench rounds it (4 decimals)
CONNECTION_SPARSITY_BY_SEED: dict[str, tuple[float, ...]] = {
    "indy_20160622_01": (0.4498, 0.5, 0.4498, 0.4498, 0.5),
    "indy_20160630_01": (0.4498, 0.4498, 0.4498, 0.5, 0.3999),
    "indy_20170131_02": (0.5, 0.5, 0.5, 0.5, 0.5),
    "loco_20170210_03": (0.4499, 0.4, 0.5, 0.4499, 0.4),
    "loco_20170215_02": (0.4499, 0.4, 0.4499, 0.4, 0.4),
    "loco_20170301_05": (0.5, 0.4499, 0.4499, 0.4, 0.4499),
}

SOURCE = "Liu, Gygax, Rossbroich, Chua, Zhang, Zenke, BioCAS 2024 (ZenkeLab): 5-seed means per real session"
