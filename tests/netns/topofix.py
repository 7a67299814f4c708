"""pytest fixtures of the topology suite (test_topo_*.py import them).

- topo_harness: a netns.Harness, cleaned up after the test whatever happened;
- build: build(spec, **kw) -> topo.Topology in that harness;
- scenario: prints one line per test when it ends: its name, result and
  duration (the suite's scenario log), and offers .line() for measurements.
"""

import time

import pytest

import netns
import topo


def _skip_reason(routing="bird"):
    missing = topo.missing_tools(routing)
    if missing:
        return "missing tools: %s" % ", ".join(missing)
    try:
        topo.find_binary()
    except netns.HarnessError as e:
        return str(e)
    return None


@pytest.fixture
def topo_harness():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    h = netns.Harness()
    try:
        yield h
    finally:
        h.cleanup()


@pytest.fixture
def build(topo_harness):
    def make(spec, **kw):
        routing = kw.get("routing") or {}
        if "frr" in routing.values():
            reason = _skip_reason("frr")
            if reason:
                pytest.skip(reason)
        return topo.Topology(topo_harness, spec, **kw)
    return make


class Scenario:
    def __init__(self, request):
        self.name = request.node.name
        self.reporter = topo.Reporter(request.config)
        self.start = time.monotonic()

    def line(self, text):
        self.reporter.line("  %s: %s" % (self.name, text))

    def elapsed(self):
        return time.monotonic() - self.start


@pytest.fixture
def scenario(request):
    failed_before = request.session.testsfailed
    s = Scenario(request)
    yield s
    result = "FAILED" if request.session.testsfailed > failed_before else "ok"
    s.reporter.line("scenario %s: %s in %.1fs" % (s.name, result, s.elapsed()))
