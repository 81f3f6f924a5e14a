"""The ipBlock minimiser: exact cover, and the same answer with subtrees shared between calls."""

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from translator.compiler.ipblocks import ip_blocks
from translator.model.space import IntervalSet

# addresses around a few /8, /16 and /24 edges, so that cuts and shared subtrees matter
EDGES = [0x0A000000, 0x0A00FF00, 0x0A010000, 0x22000000, 0x22D8A000, 0x22FFFFF0, 0x23000000, 0xC0A80000]


@st.composite
def address_sets(draw):
    ivs = []
    for _ in range(draw(st.integers(1, 4))):
        lo = draw(st.sampled_from(EDGES)) + draw(st.integers(-40, 300))
        ivs.append((lo, lo + draw(st.integers(0, 600))))
    return IntervalSet(ivs)


def covered(blocks, x: int) -> bool:
    ip = ipaddress.ip_address(x)
    return any(
        ip in ipaddress.ip_network(c) and not any(ip in ipaddress.ip_network(e) for e in exc) for c, exc in blocks
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(address_sets(), min_size=1, max_size=4), address_sets())
def test_blocks_cover_exactly_and_sharing_changes_nothing(wants, dont_care):
    shared: dict = {}
    for want in wants:
        want = want - dont_care
        if not want:
            continue
        blocks = ip_blocks(want, dont_care)
        assert ip_blocks(want, dont_care, shared) == blocks
        probes = {x for lo, hi in (want | dont_care).iv for x in (lo - 1, lo, (lo + hi) // 2, hi, hi + 1)}
        for x in sorted(p for p in probes if 0 <= p < 1 << 32):
            if x in want:
                assert covered(blocks, x), (x, blocks)
            elif x not in dont_care:
                assert not covered(blocks, x), (x, blocks)
