#!/usr/bin/env python3
"""`rain keygen`, `rain local` and `rain status` error paths with the real `rain` binary and
stand-in daemons (no raind needed): usage errors exit 2; no cluster, a missing raind, a busy
port, a daemon that exits at once and one that never forms a view exit 1 with a message that
says which; nothing is left running.
    cli_errors_test.py PATH/TO/rain"""
import os
import shutil
import socket
import stat
import sys
import tempfile

from rain_cli_lib import check, main, processes_of, run

rain = sys.argv[1]
work = tempfile.mkdtemp(prefix="rain-cli-errors.")
cluster = os.path.join(work, "c")


def fake_raind(name, body):
    """A stand-in raind: a script that keeps the config path on its command line (so that
    LocalCluster recognises it) and does `body`."""
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(f"#!/usr/bin/env python3\nimport sys, time\n{body}\n")
    os.chmod(path, 0o755)
    return path


def keygen():
    key = os.path.join(work, "k")
    run(rain, "keygen", key)
    text = open(key).read()
    check(len(text) == 65 and text.endswith("\n") and all(c in "0123456789abcdef" for c in text[:64]),
          f"key file is not 64 hex characters and a newline: {text!r}")
    check(stat.S_IMODE(os.stat(key).st_mode) == 0o600, "key file mode is not 0600")
    _, _, err = run(rain, "keygen", key, expect=1)
    check("exists" in err and open(key).read() == text, "keygen overwrote a key without --force")
    run(rain, "keygen", key, "--force")
    check(open(key).read() != text, "keygen --force did not write a new key")


def usage_errors():
    for args in (["local", "up", "--nodes", "0"], ["local", "up", "--bogus"], ["local", "kill"],
                 ["local", "kill", "x"], ["status", "--timeout-ms", "1"], ["keygen"],
                 ["local"], ["status", "--dir", "a", "--socket", "b"]):
        run(rain, *args, expect=2)


def no_cluster():
    _, _, err = run(rain, "status", "--dir", os.path.join(work, "none"), expect=1)
    check("no local cluster" in err, f"status without a cluster does not say so: {err}")
    _, _, err = run(rain, "local", "down", "--dir", os.path.join(work, "none"), expect=1)
    check("no local cluster" in err, f"down without a cluster does not say so: {err}")


def raind_missing():
    _, _, err = run(rain, "local", "up", "--dir", cluster, "--raind", os.path.join(work, "nope"),
                    expect=1)
    check("raind not found" in err, f"missing raind not reported: {err}")


def port_in_use():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.2", 0))
    port = s.getsockname()[1]
    try:
        _, _, err = run(rain, "local", "up", "--dir", cluster, "--nodes", "2", "--base-port",
                        str(port - 1), "--raind", fake_raind("idle", "time.sleep(600)"), expect=1)
        check(f"127.0.0.2:{port} is in use" in err, f"busy port not named: {err}")
    finally:
        s.close()


def exits_early():
    raind = fake_raind("dies", "print('fake raind: config is broken', file=sys.stderr)\nsys.exit(2)")
    _, _, err = run(rain, "local", "up", "--dir", cluster, "--nodes", "3", "--raind", raind,
                    "--timeout", "30", expect=1)
    check("not running" in err and "fake raind: config is broken" in err,
          f"early exit not reported with the log tail: {err}")
    check(not processes_of(cluster), f"left behind: {processes_of(cluster)}")


def never_forms_view():
    raind = fake_raind("mute", "time.sleep(600)")
    _, _, err = run(rain, "local", "up", "--dir", cluster, "--nodes", "2", "--raind", raind,
                    "--timeout", "1", expect=1)
    check("no primary view" in err and "node 2: down" in err,
          f"timeout does not show what each node sees: {err}")
    check(not processes_of(cluster), f"left behind: {processes_of(cluster)}")
    # The per-node commands on a stopped cluster.
    _, _, err = run(rain, "local", "kill", "1", "--dir", cluster, expect=1)
    check("not running" in err, f"kill of a stopped node: {err}")
    run(rain, "local", "pause", "7", "--dir", cluster, expect=2)
    _, out, _ = run(rain, "local", "down", "--dir", cluster)
    check("no node" in out, f"down of a stopped cluster: {out}")
    _, out, _ = run(rain, "status", "--dir", cluster, expect=1)
    check("not running" in out and "no node answers" in out, f"status of a stopped cluster: {out}")


def body():
    try:
        keygen()
        usage_errors()
        no_cluster()
        raind_missing()
        port_in_use()
        exits_early()
        never_forms_view()
    finally:
        run(rain, "local", "down", "--dir", cluster, "--timeout", "1", expect=None)
        shutil.rmtree(work, ignore_errors=True)


main(body)
