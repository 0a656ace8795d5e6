"""Which EC2 instance type reproduces a Slurm node: the table `slurmshim migrate` chooses from.

The rule, for one node shape (CPUs, RealMemory, GPUs and their type, Features):

* **GPU nodes** take the family of their GPU type (Gres=gpu:TYPE:N):

      a100 (40 GB)          p4d     8 GPUs, EFA
      a100 80 GB            p4de    (a100_80, a100-80gb, a100-sxm4-80gb ...)
      h100                  p5      1 or 8 GPUs, EFA
      h200                  p5e     8 GPUs, EFA
      a10 / a10g            g5
      l4                    g6
      l40s                  g6e
      t4                    g4dn
      v100                  p3 (1/4/8 GPUs), p3dn (8 x 32 GB, EFA)
      untyped or unknown    g5 (with a warning naming the type)

  and the smallest size with at least the node's GPUs, CPUs and memory.
* **CPU nodes** take the cheapest size, among these families, with at least the node's CPUs
  and memory (ties: fewer vCPUs):

      family   GiB per vCPU   relative price per vCPU   Spot alternates (same size)
      c7i      2              1.00                      c6i, c7a
      m7i      4              1.13                      m6i, m7a
      r7i      8              1.48                      r6i, r7a
      x2iedn   32             4.67                      -

  (prices: us-east-1 on-demand Linux, 2025, used only to rank).  So a node with 4 GiB per CPU
  gets an m7i of its size, and a 2-CPU node with 24 GiB an r7i.xlarge rather than a larger c7i.
  The Spot compute environment also lists the same size of the alternate families (Spot
  capacity is deeper when diversified).
* **InfiniBand/EFA nodes** (a Features entry `ib`, `infiniband`, `efa`, `opa` or `omnipath`)
  need EFA: if the size picked above has none, the node takes hpc7a (EFA, 768 GiB, on-demand
  only: such a class gets no Spot compute environment) when it fits, else the family's smallest
  EFA-capable size.

One Slurm CPU counts as one vCPU (a hyperthread).  A node larger than the largest size of its
family gets the largest size and a warning.  The vCPU, memory and GPU figures are those of the
EC2 API (DescribeInstanceTypes); tests check them against moto's copy of that data.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Size:
    name: str         # "c7i.8xlarge"
    vcpus: int
    mem_gib: int
    gpus: int = 0
    efa: bool = False
    spot: bool = True  # offered on Spot

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def mem_mib(self) -> int:
        return self.mem_gib * 1024


def _family(fam: str, rows: list[tuple], *, spot: bool = True) -> list[Size]:
    out = []
    for r in rows:
        size, vcpus, mem = r[0], r[1], r[2]
        gpus = r[3] if len(r) > 3 else 0
        efa = r[4] if len(r) > 4 else False
        out.append(Size(f"{fam}.{size}", vcpus, mem, gpus, efa, spot))
    return out


_STD = ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge",
        "48xlarge"]


def _cpu_family(fam: str, gib_per_vcpu: int) -> list[Size]:
    rows = []
    for s in _STD:
        v = 2 if s == "large" else 4 * (int(s[:-6]) if s[:-6] else 1)
        rows.append((s, v, v * gib_per_vcpu, 0, s == "48xlarge"))
    return _family(fam, rows)


CATALOG: dict[str, list[Size]] = {
    "c7i": _cpu_family("c7i", 2),
    "m7i": _cpu_family("m7i", 4),
    "r7i": _cpu_family("r7i", 8),
    "x2iedn": _family("x2iedn", [("xlarge", 4, 128), ("2xlarge", 8, 256), ("4xlarge", 16, 512),
                                 ("8xlarge", 32, 1024), ("16xlarge", 64, 2048),
                                 ("24xlarge", 96, 3072), ("32xlarge", 128, 4096, 0, True)]),
    "hpc7a": _family("hpc7a", [("12xlarge", 24, 768, 0, True), ("24xlarge", 48, 768, 0, True),
                               ("48xlarge", 96, 768, 0, True), ("96xlarge", 192, 768, 0, True)],
                     spot=False),
    "p4d": _family("p4d", [("24xlarge", 96, 1152, 8, True)]),
    "p4de": _family("p4de", [("24xlarge", 96, 1152, 8, True)]),
    "p5": _family("p5", [("4xlarge", 16, 256, 1, True), ("48xlarge", 192, 2048, 8, True)]),
    "p5e": _family("p5e", [("48xlarge", 192, 2048, 8, True)]),
    "g5": _family("g5", [("xlarge", 4, 16, 1), ("2xlarge", 8, 32, 1), ("4xlarge", 16, 64, 1),
                         ("8xlarge", 32, 128, 1, True), ("16xlarge", 64, 256, 1, True),
                         ("12xlarge", 48, 192, 4, True), ("24xlarge", 96, 384, 4, True),
                         ("48xlarge", 192, 768, 8, True)]),
    "g6": _family("g6", [("xlarge", 4, 16, 1), ("2xlarge", 8, 32, 1), ("4xlarge", 16, 64, 1),
                         ("8xlarge", 32, 128, 1, True), ("16xlarge", 64, 256, 1, True),
                         ("12xlarge", 48, 192, 4, True), ("24xlarge", 96, 384, 4, True),
                         ("48xlarge", 192, 768, 8, True)]),
    "g6e": _family("g6e", [("xlarge", 4, 32, 1), ("2xlarge", 8, 64, 1), ("4xlarge", 16, 128, 1),
                           ("8xlarge", 32, 256, 1, True), ("16xlarge", 64, 512, 1, True),
                           ("12xlarge", 48, 384, 4, True), ("24xlarge", 96, 768, 4, True),
                           ("48xlarge", 192, 1536, 8, True)]),
    "g4dn": _family("g4dn", [("xlarge", 4, 16, 1), ("2xlarge", 8, 32, 1), ("4xlarge", 16, 64, 1),
                             ("8xlarge", 32, 128, 1, True), ("16xlarge", 64, 256, 1, True),
                             ("12xlarge", 48, 192, 4, True), ("metal", 96, 384, 8, True)]),
    "p3": _family("p3", [("2xlarge", 8, 61, 1), ("8xlarge", 32, 244, 4),
                         ("16xlarge", 64, 488, 8)]) +
    _family("p3dn", [("24xlarge", 96, 768, 8, True)]),
}

# same size name, same shape: listed next to the primary type in Spot compute environments
SPOT_ALTERNATES: dict[str, tuple[str, ...]] = {
    "c7i": ("c6i", "c7a"), "m7i": ("m6i", "m7a"), "r7i": ("r6i", "r7a"),
}
_ALT_SIZES = {"c6i": set(_STD[:-1]) | {"32xlarge"}, "m6i": set(_STD[:-1]) | {"32xlarge"},
              "r6i": set(_STD[:-1]) | {"32xlarge"}, "c7a": set(_STD) | {"medium", "32xlarge"},
              "m7a": set(_STD) | {"medium", "32xlarge"}, "r7a": set(_STD) | {"medium", "32xlarge"}}

GPU_FAMILIES: dict[str, str] = {
    "a100": "p4d", "a100_40g": "p4d", "a100-40gb": "p4d", "a100-sxm4-40gb": "p4d",
    "a100_80": "p4de", "a100_80g": "p4de", "a100-80gb": "p4de", "a100_80gb": "p4de",
    "a100-sxm4-80gb": "p4de", "a100-80": "p4de",
    "h100": "p5", "h100-80gb": "p5", "h100_80gb": "p5", "h200": "p5e",
    "a10": "g5", "a10g": "g5", "l4": "g6", "l40s": "g6e", "l40": "g6e", "t4": "g4dn",
    "v100": "p3", "v100-32gb": "p3", "v100_32g": "p3",
}
DEFAULT_GPU_FAMILY = "g5"

EFA_FEATURES = frozenset({"ib", "infiniband", "efa", "opa", "omnipath", "hdr", "edr", "ndr"})


@dataclass
class Choice:
    """The instance picked for a node shape."""

    primary: Size
    spot_types: list[str] = field(default_factory=list)   # [] = no Spot for this class
    efa: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def od_types(self) -> list[str]:
        return [self.primary.name]


# relative on-demand price per vCPU (c7i = 1), only to rank CPU sizes
CPU_FAMILIES: dict[str, float] = {"c7i": 1.00, "m7i": 1.13, "r7i": 1.48, "x2iedn": 4.67}


def cpu_choice(cpus: int, mem_mib: int) -> Size | None:
    """The cheapest CPU size that holds the node (None: none is big enough)."""
    best: tuple[float, int, Size] | None = None
    for fam, price in CPU_FAMILIES.items():
        s = _smallest(CATALOG[fam], cpus, mem_mib, 0)
        if s is None:
            continue
        key = (round(s.vcpus * price, 3), s.vcpus, s)
        if best is None or key[:2] < best[:2]:
            best = key
    return best[2] if best else None


def _fits(s: Size, cpus: int, mem_mib: int, gpus: int) -> bool:
    return s.vcpus >= cpus and s.mem_mib >= mem_mib and s.gpus >= gpus


def _smallest(sizes: list[Size], cpus: int, mem_mib: int, gpus: int,
              need_efa: bool = False) -> Size | None:
    ok = [s for s in sizes if _fits(s, cpus, mem_mib, gpus) and (s.efa or not need_efa)]
    if not ok:
        return None
    return min(ok, key=lambda s: (s.gpus, s.vcpus, s.mem_gib))


def choose(cpus: int, mem_mib: int, gpus: int = 0, gpu_type: str | None = None,
           features: list[str] | tuple[str, ...] = ()) -> Choice:
    """The instance type for one node shape (see the module docstring)."""
    warnings: list[str] = []
    want_efa = any(f.lower() in EFA_FEATURES for f in features)
    if gpus > 0:
        fam = GPU_FAMILIES.get((gpu_type or "").lower())
        if fam is None:
            fam = DEFAULT_GPU_FAMILY
            warnings.append(f"GPU type {gpu_type or '(untyped)'} is not in the table: using "
                            f"{fam} (NVIDIA A10G); edit the plan to choose another family")
        sizes = CATALOG[fam]
        pick = _smallest(sizes, cpus, mem_mib, gpus)
    else:
        pick = cpu_choice(cpus, mem_mib)
        if pick is None:   # bigger than any: the size that covers most of it
            every = [s for f in CPU_FAMILIES for s in CATALOG[f]]
            big = max(every, key=lambda s: (min(s.vcpus / max(cpus, 1), 1.0) +
                                            min(s.mem_mib / max(mem_mib, 1), 1.0), -s.vcpus))
            fam = big.family
        else:
            fam = pick.family
        sizes = CATALOG[fam]
    if pick is None:
        pick = max(sizes, key=lambda s: (s.gpus >= gpus, s.vcpus, s.mem_gib))
        warnings.append(f"a node with {cpus} CPUs, {mem_mib} MiB and {gpus} GPUs is larger than "
                        f"any {fam} instance: using {pick.name} ({pick.vcpus} vCPUs, "
                        f"{pick.mem_gib} GiB, {pick.gpus} GPUs)")
    efa = pick.efa and want_efa
    if want_efa and not pick.efa:
        hpc = _smallest(CATALOG["hpc7a"], cpus, mem_mib, gpus) if gpus == 0 else None
        alt = hpc or _smallest(sizes, cpus, mem_mib, gpus, need_efa=True)
        if alt is not None:
            warnings.append(f"nodes have an InfiniBand/EFA feature: {alt.name} (EFA) instead of "
                            f"{pick.name}")
            pick, efa = alt, True
        else:
            warnings.append(f"nodes have an InfiniBand/EFA feature but no {fam} size with EFA "
                            f"fits: {pick.name} has no EFA")
    spot_types: list[str] = []
    if pick.spot:
        spot_types.append(pick.name)
        size = pick.name.split(".", 1)[1]
        for alt_fam in SPOT_ALTERNATES.get(pick.family, ()):
            if size in _ALT_SIZES.get(alt_fam, ()):
                spot_types.append(f"{alt_fam}.{size}")
    return Choice(primary=pick, spot_types=spot_types, efa=efa, warnings=warnings)


def table_rows() -> list[tuple[str, int, int, int, bool, bool]]:
    """(instance type, vCPUs, GiB, GPUs, EFA, Spot) of the whole catalog, for docs and tests."""
    return [(s.name, s.vcpus, s.mem_gib, s.gpus, s.efa, s.spot)
            for sizes in CATALOG.values() for s in sizes]
