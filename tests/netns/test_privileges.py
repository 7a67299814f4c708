"""Privileges and files (docs/spec.md 6.1 and 9.12, docs/reliability.md
"Privileges and files"): the daemon keeps CAP_NET_ADMIN alone and still does
everything it did; it runs as another user with CAP_NET_ADMIN given as an
ambient capability (systemd's AmbientCapabilities=); and it refuses a state
directory that another user could change."""

import os
import signal

import pytest

import topo

from conftest import CONVERGE, GW1, GW2, converge
from netns import wait_until

CAP_NET_ADMIN = 1 << 12
NOBODY = 65534


def proc_status(pid):
    """{field: value} of /proc/PID/status; the capability sets as ints."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            value = value.strip()
            out[key] = int(value, 16) if key.startswith("Cap") else value
    return out


def learn_install_and_write(d, dev, ns, prefix, static):
    """The daemon's job once: a route learned, a static AllowedIP installed,
    the state file written with what was learned."""
    ns.ip("-6", "route", "add", prefix, "via", GW1, "dev", dev.name, "proto", "static")
    dev.set_allowed(dev.p2, [GW2 + "/128", static])
    converge("%s learned and %s installed" % (prefix, static),
             lambda: prefix in dev.allowed(dev.p1) and static in dev.our_routes())
    state = os.path.join(d.state_dir, dev.name + ".state")
    converge("%s in the state file" % prefix,
             lambda: os.path.exists(state) and prefix in open(state).read())


def test_only_net_admin_is_kept_and_the_daemon_still_works(dev, make_daemon, ns, workdir):
    """Started as root: CAP_NET_ADMIN alone in the effective, permitted and
    bounding sets, nothing inheritable or ambient, no_new_privs. Then it
    learns, installs, sees a change made with wg at its next poll, writes its
    state file, and reloads on SIGHUP into a state_dir it has to make."""
    d = make_daemon("wg_poll_interval: 200ms\n").start()
    d.wait_managed(dev.name)
    st = proc_status(d.status()["pid"])
    assert st["Uid"].split()[:2] == ["0", "0"]
    assert st["CapEff"] == CAP_NET_ADMIN, hex(st["CapEff"])
    assert st["CapPrm"] == CAP_NET_ADMIN, hex(st["CapPrm"])
    assert st["CapBnd"] == CAP_NET_ADMIN, hex(st["CapBnd"])
    assert st["CapInh"] == 0 and st["CapAmb"] == 0
    assert st["NoNewPrivs"] == "1"
    learn_install_and_write(d, dev, ns, "2001:db8:1::/48", "2001:db8:5::/48")

    # A reload that moves state_dir (and the control socket) to a directory
    # that does not exist yet: made without CAP_DAC_OVERRIDE.
    moved = os.path.join(workdir, "moved", "state")
    d.state_dir = moved
    d.write_config("wg_poll_interval: 200ms\n")
    d.signal(signal.SIGHUP)
    converge("the control socket in the new state_dir",
             lambda: d._alive_and(lambda: os.path.exists(d.control_path())))
    learn_install_and_write(d, dev, ns, "2001:db8:2::/48", "2001:db8:6::/48")
    assert os.stat(moved).st_mode & 0o777 == 0o700
    assert "reload refused" not in d.log()


def test_runs_as_wg_rtsync_service_starts_it(dev, make_daemon, ns):
    """As wg-rtsync.service starts it: root, CAP_NET_ADMIN bounded, ambient
    and inheritable, and a seccomp filter that refuses capset (EPERM,
    `SystemCallFilter=~@privileged`; deny_capset.c stands in for systemd).
    It runs: the ambient set emptied, the inheritable one left as systemd
    made it (with no_new_privs it gives nothing), and it does its job."""
    helper = os.path.join(os.path.dirname(topo.find_binary()), "tests", "unit",
                          "wgrs-deny-capset")
    if topo.binary_from_env() or not os.access(helper, os.X_OK):
        pytest.skip("deny_capset.c is built with wg-rtsync's own tests")
    d = make_daemon("wg_poll_interval: 200ms\n")
    plain = d.argv
    d.argv = lambda *extra: ["setpriv", "--bounding-set=-all,+net_admin",
                             "--inh-caps=-all,+net_admin",
                             "--ambient-caps=-all,+net_admin", helper] + plain(*extra)
    d.start()
    d.wait_managed(dev.name)
    st = proc_status(d.status()["pid"])
    assert st["CapEff"] == CAP_NET_ADMIN and st["CapPrm"] == CAP_NET_ADMIN
    assert st["CapBnd"] == CAP_NET_ADMIN and st["CapAmb"] == 0
    assert st["CapInh"] == CAP_NET_ADMIN
    assert "the inheritable set stays" in d.log()
    learn_install_and_write(d, dev, ns, "2001:db8:1::/48", "2001:db8:5::/48")


def test_runs_as_another_user_with_ambient_net_admin(fake, make_daemon, ns, workdir):
    """As systemd's User= with AmbientCapabilities=CAP_NET_ADMIN starts it:
    it drops the ambient and inheritable sets, keeps CAP_NET_ADMIN, and
    works, given a state directory of its own and a UAPI socket it may
    open. (wireguard-go's socket is root's, mode 0700, and wireguard-go
    stops when its socket's owner or mode is changed: with wireguard-go, run
    the daemon as root, which drops the rest, or give it CAP_DAC_OVERRIDE;
    kernel WireGuard needs CAP_NET_ADMIN alone. Here a fake UAPI server
    gives its socket to the daemon's user.)"""
    fake.start(owner=NOBODY)
    d = make_daemon("wg_poll_interval: 200ms\n")
    os.chmod(workdir, 0o711)  # nobody passes through, reads nothing
    os.chmod(d.config_path, 0o644)
    os.makedirs(d.state_dir, mode=0o700)
    os.chown(d.state_dir, NOBODY, NOBODY)
    wrapper = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
               "--clear-groups", "--inh-caps=+net_admin", "--ambient-caps=+net_admin"]
    plain = d.argv
    d.argv = lambda *extra: wrapper + plain(*extra)
    d.start()
    d.wait_managed(fake.name)
    st = proc_status(d.status()["pid"])
    assert st["Uid"].split()[:2] == [str(NOBODY)] * 2
    assert st["CapEff"] == CAP_NET_ADMIN and st["CapPrm"] == CAP_NET_ADMIN
    assert st["CapInh"] == 0 and st["CapAmb"] == 0
    ns.ip("-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", fake.name,
          "proto", "static")
    fake.set_allowed(fake.p2.public_key, [GW2 + "/128", "2001:db8:5::/48"])
    converge("learned and installed", lambda: "2001:db8:1::/48" in fake.allowed(
        fake.p1.public_key) and ns.ip_json("-6", "route", "show", "2001:db8:5::/48",
                                           "proto", "98"))
    state = os.path.join(d.state_dir, fake.name + ".state")
    converge("the state file", lambda: os.path.exists(state)
             and "2001:db8:1::/48" in open(state).read())
    assert os.stat(state).st_uid == NOBODY


def test_state_dir_others_can_write_is_refused(dev, make_daemon, workdir):
    """spec 6.1: a state_dir writable by group or others is refused: at
    start (exit 1, one line, nothing made), at a reload (the old
    configuration stays), and for an interface whose own state_dir it is
    (not managed until the directory is fixed)."""
    d = make_daemon()
    os.makedirs(d.state_dir)
    os.chmod(d.state_dir, 0o777)
    d.proc = d.ns.start(d.argv(), name="wg-rtsync")
    wait_until(lambda: not d.proc.alive(), CONVERGE, "the daemon to refuse to start")
    assert d.proc.popen.returncode == 1
    refusal = "state_dir %s is writable by its group or others (mode 0777)" % d.state_dir
    assert [l for l in d.log().splitlines() if refusal in l], d.log()
    assert os.listdir(d.state_dir) == []

    os.chmod(d.state_dir, 0o700)
    d.start()
    d.wait_managed(dev.name)
    # A reload into an open directory is refused as a whole.
    open_dir = os.path.join(workdir, "open")
    os.makedirs(open_dir)
    os.chmod(open_dir, 0o777)
    good_dir = d.state_dir
    d.state_dir = open_dir
    d.write_config("")
    d.signal(signal.SIGHUP)
    converge("the reload refused", lambda: d._alive_and(
        lambda: "reload refused, the old configuration stays: state_dir %s is "
        "writable" % open_dir in d.log()))
    d.state_dir = good_dir
    d.write_config("")  # status finds the socket through the file
    assert d.status()["interfaces"][0]["name"] == dev.name

    # An interface's own state_dir: that interface waits for it.
    d.write_config('wg_poll_interval: 200ms\ninterfaces:\n  "*": {state_dir: %s}\n'
                   % open_dir)
    d.stop()
    d.start()
    line = "%s: cannot manage it: state_dir %s is writable" % (dev.name, open_dir)
    converge("the interface refused", lambda: line in d.log())
    assert d.status()["interfaces"] == []  # it runs, without the interface
    os.chmod(open_dir, 0o700)
    d.wait_managed(dev.name)
    assert d.log().count(line) == 1, "said once, not at every look"


def test_state_file_symlink_is_set_aside_not_followed(dev, make_daemon, workdir):
    """The old daemon appended to STATE_DIR/IFNAME.state through a symbolic
    link: now a link there is never followed. At pick-up it is set aside (the
    link itself renamed) and a file of the daemon's own takes its name; the
    file it pointed to is left as it was."""
    victim = os.path.join(workdir, "victim")
    with open(victim, "w") as f:
        f.write("do not touch\n")
    d = make_daemon()
    os.makedirs(d.state_dir)
    state = os.path.join(d.state_dir, dev.name + ".state")
    os.symlink(victim, state)
    d.start()
    d.wait_managed(dev.name)
    aside = [f for f in os.listdir(d.state_dir) if f.startswith(dev.name + ".state.bad-")]
    assert len(aside) == 1
    assert os.path.islink(os.path.join(d.state_dir, aside[0]))
    d.ns.ip("-6", "route", "add", "2001:db8:1::/48", "via", GW1, "dev", dev.name,
            "proto", "static")
    converge("the state file written", lambda: os.path.isfile(state)
             and not os.path.islink(state) and "2001:db8:1::/48" in open(state).read())
    with open(victim) as f:
        assert f.read() == "do not touch\n"
