"""Known sessions: the six NeuroBench primate-reaching recordings (Zenodo record 583331)."""

from __future__ import annotations

from dataclasses import dataclass

ZENODO_RECORD = "583331"
ZENODO_BASE_URL = "https://zenodo.org/record/583331/files"


@dataclass(frozen=True)
class KnownSession:
    name: str
    channels: int
    md5: str


NEUROBENCH_SESSIONS: tuple[KnownSession, ...] = (
    KnownSession("indy_20160622_01", 96, "c33d5fff31320d709d23fe445561fb6e"),
    KnownSession("indy_20160630_01", 96, "197413a5339630ea926cbd22b8b43338"),
    KnownSession("indy_20170131_02", 96, "2790b1c869564afaa7772dbf9e42d784"),
    KnownSession("loco_20170210_03", 192, "4cae63b58c4cb9c8abd44929216c703b"),
    KnownSession("loco_20170215_02", 192, "739b70762d838f3a1f358733c426bb02"),
    KnownSession("loco_20170301_05", 192, "47342da09f9c950050c9213c3df38ea3"),
)
KNOWN = {s.name: s for s in NEUROBENCH_SESSIONS}


def known_session(name: str) -> KnownSession | None:
    return KNOWN.get(name)
