#!/usr/bin/env python3
"""A test-side client for raind's control socket (docs/raind.md §3), for the netns tests.

The daemons run inside network namespaces, but their control sockets are Unix paths, so this
runs in the test's own namespace. Every wait has a deadline; nothing sleeps to synchronise.

  rainctl.py cmd SOCK JSON              one request, print the answer line; exit 1 if not ok
  rainctl.py watch SOCK OUT DEADLINE_S  stream `watch` events into OUT (one JSON line each,
                                        flushed), retrying the connect until the socket exists
  rainctl.py wait-view TIMEOUT_S SPEC...
      SPEC = SOCK=MEMBERS[:primary|:nonprimary|:any]; MEMBERS = 1,2,3 or "none" (no view, or a
      view that is not primary, with no other constraint). Polls `status` until every SOCK's
      view matches its SPEC and the views with equal member sets have equal ids; prints them.
  rainctl.py mcast TIMEOUT_S FROM_SOCK COUNT SOCK...
      FROM_SOCK multicasts COUNT 64-byte load messages (agreed); waits until every SOCK's
      delivered counter grew by COUNT
  rainctl.py wait-links TIMEOUT_S SOCK PREFIX up|down N
      until SOCK's status shows N peer links whose remote address starts with PREFIX, all in
      that state
  rainctl.py count-views OUT [ID]       number of view events in a watch file (those whose view
                                        id is not ID: a late event for the current view is not a
                                        change)
"""
import json
import socket
import sys
import time

POLL_INTERVAL_S = 0.05  # status poll period while waiting for a view
CONNECT_TIMEOUT_S = 2.0  # one control request (connect + answer)


def request(sock_path, obj):
    """Sends one JSON line, returns the parsed answer line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(CONNECT_TIMEOUT_S)
        s.connect(sock_path)
        s.sendall((json.dumps(obj) + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before an answer")
            buf += chunk
        return json.loads(buf.split(b"\n", 1)[0])


def cmd_cmd(sock_path, text):
    answer = request(sock_path, json.loads(text))
    print(json.dumps(answer))
    return 0 if answer.get("ok") else 1


def cmd_watch(sock_path, out_path, deadline_s):
    end = time.monotonic() + float(deadline_s)
    s = None
    while s is None:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock_path)
        except OSError:
            s.close()
            s = None
            if time.monotonic() > end:
                print("watch: %s never accepted a connection" % sock_path, file=sys.stderr)
                return 1
            time.sleep(POLL_INTERVAL_S)
    s.sendall(b'{"cmd":"watch"}\n')
    s.settimeout(max(0.1, end - time.monotonic()))
    buf = b""
    first = True
    with open(out_path, "a", buffering=1) as out:
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return 0
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if first:  # the {"ok":true} that opens the stream
                        first = False
                        if not json.loads(line).get("ok"):
                            print("watch refused: %s" % line.decode(), file=sys.stderr)
                            return 1
                        out.write('{"event":"watching"}\n')
                        continue
                    out.write(line.decode() + "\n")
        except (socket.timeout, OSError):
            return 0


def parse_spec(spec):
    sock_path, want = spec.rsplit("=", 1)
    primary = "any"
    if ":" in want:
        want, primary = want.split(":", 1)
    members = None if want == "none" else sorted(int(m) for m in want.split(","))
    return sock_path, members, primary


def view_matches(view, members, primary):
    if members is None:  # "none": no view, or any non-primary view
        return view is None or not view.get("primary")
    if view is None or sorted(view["members"]) != members:
        return False
    if primary == "primary":
        return bool(view["primary"])
    if primary == "nonprimary":
        return not view["primary"]
    return True


def cmd_wait_view(timeout_s, specs):
    wanted = [parse_spec(s) for s in specs]
    end = time.monotonic() + float(timeout_s)
    views = {}
    while True:
        ok = True
        for sock_path, members, primary in wanted:
            try:
                views[sock_path] = request(sock_path, {"cmd": "status"}).get("view")
            except (OSError, ValueError) as e:
                views[sock_path] = "unreachable: %s" % e
                ok = False
                continue
            ok = ok and view_matches(views[sock_path], members, primary)
        if ok:
            ids = {}
            for sock_path, members, _ in wanted:
                view = views[sock_path]
                if view is not None and members is not None:
                    ids.setdefault(tuple(members), set()).add(view["id"])
            ok = all(len(v) == 1 for v in ids.values())
        if ok:
            for sock_path, _, _ in wanted:
                print("%s: %s" % (sock_path, json.dumps(views[sock_path])))
            return 0
        if time.monotonic() > end:
            print("wait-view: timeout after %s s; last views:" % timeout_s, file=sys.stderr)
            for sock_path, _, _ in wanted:
                print("  %s: %s" % (sock_path, json.dumps(views.get(sock_path))), file=sys.stderr)
            return 1
        time.sleep(POLL_INTERVAL_S)


def delivered(sock_path):
    return request(sock_path, {"cmd": "mcast_stats"})["delivered"]


def cmd_mcast(timeout_s, from_sock, count, socks):
    before = {s: delivered(s) for s in socks}
    answer = request(from_sock, {"cmd": "mcast", "bytes": 64, "count": int(count),
                                 "service": "agreed"})
    if not answer.get("ok"):
        print("mcast refused: %s" % json.dumps(answer), file=sys.stderr)
        return 1
    end = time.monotonic() + float(timeout_s)
    for s in socks:
        while True:
            got = delivered(s) - before[s]
            if got >= int(count):
                break
            if time.monotonic() > end:
                print("mcast: %s delivered %d of %s" % (s, got, count), file=sys.stderr)
                return 1
            time.sleep(POLL_INTERVAL_S)
    return 0


def cmd_wait_links(timeout_s, sock_path, prefix, state, n):
    want = state == "up"
    end = time.monotonic() + float(timeout_s)
    links = []
    while True:
        try:
            status = request(sock_path, {"cmd": "status"})
            links = [l for p in status["peers"] for l in p["links"]
                     if l["remote"].startswith(prefix)]
            if len(links) == int(n) and all(l["up"] == want for l in links):
                return 0
        except (OSError, ValueError, KeyError):
            pass
        if time.monotonic() > end:
            print("wait-links: links to %s* not all %s: %s" % (prefix, state, links),
                  file=sys.stderr)
            return 1
        time.sleep(POLL_INTERVAL_S)


def cmd_count_views(out_path, except_id):
    n = 0
    try:
        with open(out_path) as f:
            for line in f:
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("event") == "view" and event["view"]["id"] != except_id:
                    n += 1
    except FileNotFoundError:
        pass
    print(n)
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "cmd":
        return cmd_cmd(argv[2], argv[3])
    if len(argv) == 5 and argv[1] == "watch":
        return cmd_watch(argv[2], argv[3], argv[4])
    if len(argv) >= 4 and argv[1] == "wait-view":
        return cmd_wait_view(argv[2], argv[3:])
    if len(argv) >= 6 and argv[1] == "mcast":
        return cmd_mcast(argv[2], argv[3], argv[4], argv[5:])
    if len(argv) == 7 and argv[1] == "wait-links":
        return cmd_wait_links(argv[2], argv[3], argv[4], argv[5], argv[6])
    if len(argv) in (3, 4) and argv[1] == "count-views":
        return cmd_count_views(argv[2], argv[3] if len(argv) == 4 else None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
