"""Decisions across address families: a pod flow stands for the legacy flows of each family it has.

A legacy flow has one family.  The ruleset is compiled once per family
(`compile_rules(..., family)`) and a pod class is swept in each family it has
addresses of.  A flow to an external address is decided in that address's
family.  A flow between two pod classes is allowed when they share a family
and every shared family allows it (NetworkPolicy pod peers cannot tell
families apart); where the shared families decide apart, the flow is denied
and the split is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ..model.resolve import Resolver
from ..model.space import IntervalSet
from .svcclasses import SvcClasses
from .sweep import Region, sweep
from .universe import FAMILIES, OPTIMISTIC, SECURE, CRules, PodClass, Universe, compile_rules


@dataclass
class Split:
    """Services one shared family allows a pod pair and another does not (left denied)."""

    point: int  # the other end's pod class
    mask: int  # the services, over the shared service classes
    rule: object  # a CRule that allowed them (None: the default action)


class PodSweep(NamedTuple):
    """`Readings.sweep` for one pod class: the secure regions, where the two readings decide apart
    [(lo, hi, mask)], and the family splits."""

    regions: list[Region]
    differences: list
    splits: list[Split]


class Readings:
    """The secure and optimistic match sets of each rule, per family, over one set of service classes."""

    def __init__(self, rs, universe: Universe, resolver: Resolver, default_allow: bool):
        self.universe, self.default_allow = universe, default_allow
        self.position = {id(r): k for k, r in enumerate(rs.rules)}
        self.worlds: dict[int, tuple[CRules, CRules]] = {
            f: (compile_rules(rs, universe, resolver, SECURE, f), compile_rules(rs, universe, resolver, OPTIMISTIC, f))
            for f in FAMILIES
        }
        first_sec, first_opt = self.worlds[4]
        self.classes = SvcClasses([c.svc for c in first_sec] + [c.svc for c in first_opt])
        sec_masks = [self.classes.masks[c.svc] for c in first_sec]
        opt_masks = [self.classes.masks[c.svc] for c in first_opt]
        for sec, opt in self.worlds.values():  # services do not depend on the family
            sec._pair = (opt, self.classes, sec_masks, opt_masks)

    def rules(self, position: int) -> list[tuple[int, object, object]]:
        """(family, secure CRule, optimistic CRule) of the rule at POSITION."""
        return [(f, sec[position], opt[position]) for f, (sec, opt) in self.worlds.items()]

    def sweep(self, fixed: str, pod_class: PodClass, flag: int = 0, regions: bool = True) -> PodSweep:
        """For POD_CLASS at FIXED: the secure regions (see `sweep.along`), where the two readings decide
        apart [(lo, hi, mask)] and the family splits [Split], across the families."""
        uni = self.universe
        fams = uni.families(pod_class)
        per = {
            f: sweep(
                *self.worlds[f], fixed, pod_class.point, self.default_allow, uni.end, flag, regions or len(fams) > 1
            )
            for f in fams
        }
        if len(fams) == 1:
            f = fams[0]
            groups, diffs = per[f]
            return PodSweep(*_trim(groups, diffs, uni.family_endpoints[f]), [])
        groups: dict[int, list] = {}
        diffs: list = []
        for f, (g, d) in per.items():  # external ends: their own family decides
            ext = uni.external & FAMILIES[f]
            for region, mask, cs, flagged in g:
                _add(groups, mask, region & ext, cs, flagged)
            diffs += _clip(d, ext)
        pods, splits = self._pods(per)
        for p, (sec, opt, cs, flagged) in sorted(pods.items()):
            if sec:
                _add(groups, sec, IntervalSet.point(p), cs, flagged)
            if sec != opt:
                diffs.append((p, p, sec ^ opt))
        diffs.sort(key=lambda x: x[0])
        out = [
            Region(IntervalSet(ivs), mask, self._ordered(cs), self._ordered(fl))
            for mask, (ivs, cs, fl) in groups.items()
        ]
        return PodSweep(out if regions else [], diffs, splits)

    def _ordered(self, cs: list) -> list:
        """Rules (CRules of any family, None for the default) once each, in ruleset order, the default last."""
        out: dict = {}
        for c in cs:
            key = None if c is None else id(c.rule)
            if key not in out:
                out[key] = c
        last = len(self.position)
        return sorted(out.values(), key=lambda c: last if c is None else self.position[id(c.rule)])

    def _pods(self, per: dict) -> tuple[dict, list[Split]]:
        """Per pod point: (secure mask, optimistic mask, rules, flagged rules) over the shared families."""
        uni = self.universe
        seen: dict[int, list] = {}
        for f, (groups, diffs) in per.items():
            present = uni.present[f]
            got: dict[int, tuple] = {}
            for region, mask, cs, flagged in groups:
                for lo, hi in (region & present).iv:
                    for p in range(lo, hi + 1):
                        got[p] = (mask, cs, flagged)
            apart: dict[int, int] = {}
            for lo, hi, mask in _clip(diffs, present):
                for p in range(lo, hi + 1):
                    apart[p] = apart.get(p, 0) | mask
            for lo, hi in present.iv:
                for p in range(lo, hi + 1):
                    mask, cs, flagged = got.get(p, (0, [], []))
                    seen.setdefault(p, []).append((mask, mask ^ apart.get(p, 0), cs, flagged))
        out, splits = {}, []
        for p, parts in seen.items():
            sec, opt, cs, flagged = parts[0][0], 0, [], []
            for s, o, c, fl in parts:
                sec &= s
                opt |= o
                cs += c
                flagged += fl
            out[p] = (sec, opt, cs, flagged)
            # allowed by one family, denied by another in the secure reading (what the policies do): a
            # split, even where the other family's denial is an approximation of its own (which may go
            # unreported there: an allow naming the pod CIDRs is taken, optimistically, to reach every pod)
            some, denied = 0, 0
            for s, _o, _, _ in parts:
                some |= s
                denied |= ~s
            lost = some & denied & ~sec
            if lost:
                rule = next((c for s, _, cs_, _ in parts if s & lost for c in cs_), None)
                splits.append(Split(p, lost, rule))
        return out, splits


def _add(groups: dict, mask: int, region: IntervalSet, cs, flagged) -> None:
    if not region:
        return
    got = groups.setdefault(mask, [[], [], []])
    got[0] += region.iv
    got[1] += cs
    got[2] += flagged


def _clip(diffs: list, keep: IntervalSet) -> list:
    out = []
    for lo, hi, mask in diffs:
        for a, b in (IntervalSet([(lo, hi)]) & keep).iv:
            out.append((a, b, mask))
    return out


def _trim(groups: list, diffs: list, keep: IntervalSet) -> tuple[list, list]:
    """One family's sweep with the ends outside that family left out."""
    out = []
    for region, mask, cs, flagged in groups:
        region = region & keep
        if region:
            out.append(Region(region, mask, cs, flagged))
    return out, _clip(diffs, keep)
