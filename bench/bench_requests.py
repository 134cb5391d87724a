"""Requests: a burst of unknown requests against the live server's HTTP side.

``--requests`` POSTs (default 200) arrive at once, each two subjects of
1,500 random letters, which no class matches, so each is answered with the
closest class names.  The server runs with a request board on the ImageNet
classes and no optimiser.  While the burst runs, ``/status`` is asked five
times; the worst wait is reported, with the time the whole burst took.

Two rankings take turns (A B A B, ``--repeats`` rounds): ``shortlist``,
what ``nets.classes.closest_descriptions`` does (difflib on the 40 names
sharing the most letter pairs with the text), and ``every name``, difflib
on all ~2,000 names, as before the shortlist.
"""
import argparse
import difflib
import json
import random
import socket
import string
import threading
import time


def rank_every_name(key, descriptions, n=3):
    """The ranking before the shortlist: difflib over every class name."""
    from reproduce.nets.classes import synonyms
    parts = {part: d for d in descriptions for part in synonyms(d)}
    seen = []
    for part in difflib.get_close_matches(key, list(parts), n=n * 3, cutoff=0.0):
        if parts[part] not in seen:
            seen.append(parts[part])
    return seen[:n]


def burst(n_requests, seed=0):
    """(worst /status wait, seconds for the burst) against a fresh server."""
    from reproduce.nets.classes import imagenet_descriptions
    from reproduce.stream import requests
    from reproduce.stream.server import DreamServer
    parser = requests.RequestParser(imagenet_descriptions()[0])
    board = requests.RequestBoard(parser, parser.parse("volcano"), max_waiting=8)

    class Stream:  # the part of a LiveStream the HTTP side calls
        submit = staticmethod(board.submit)
        status = staticmethod(board.snapshot)

    server = DreamServer(("127.0.0.1", 0), Stream(), max_connections=2 * n_requests).start()
    address = server.server_address[:2]
    rng = random.Random(seed)
    bodies = [json.dumps({"text": " and ".join(
        "".join(rng.choice(string.ascii_lowercase) for _ in range(1500))
        for _ in range(2))}).encode() for _ in range(n_requests)]

    def ask(request):
        started = time.perf_counter()
        with socket.create_connection(address, timeout=300) as sock:
            sock.sendall(request)
            sock.makefile("rb").read()
        return time.perf_counter() - started

    threads = [threading.Thread(target=ask, args=(
        b"POST /request HTTP/1.0\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body),)) for body in bodies]
    started = time.perf_counter()
    try:
        for thread in threads:
            thread.start()
        time.sleep(0.2)
        worst = max(ask(b"GET /status HTTP/1.0\r\n\r\n") for _ in range(5))
        for thread in threads:
            thread.join()
    finally:
        server.stop()
    return worst, time.perf_counter() - started


def main(argv=None):
    from reproduce.stream import requests
    parser = argparse.ArgumentParser(prog="python -m bench requests")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    shortlist = requests.closest_descriptions
    print("%-12s %18s %14s" % ("ranking", "worst /status (s)", "burst (s)"))
    for _ in range(args.repeats):
        for name, rank in (("every name", rank_every_name), ("shortlist", shortlist)):
            requests.closest_descriptions = rank
            try:
                worst, seconds = burst(args.requests)
            finally:
                requests.closest_descriptions = shortlist
            print("%-12s %18.2f %14.1f" % (name, worst, seconds), flush=True)


if __name__ == "__main__":
    main()
