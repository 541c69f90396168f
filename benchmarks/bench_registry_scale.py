"""The registry at scale: one model at N=10 and N=10,000 versions, on a local folder and on S3 (moto).

    python benchmarks/bench_registry_scale.py [--versions 10 10000] [--backends local s3]
                                              [--alias-every 10] [--cold-repeat 3] [--warm-repeat 20]
                                              [--signing]

One model ``m`` gets tiny versions (``{"i": i}``: distinct bytes, so nothing is
deduplicated) and the alias ``prod`` is moved to every ``--alias-every``-th version,
so at 10,000 versions its events log holds 1,000 moves. The store is built once per
backend and grown from one mark of ``--versions`` to the next. At each mark, each
operation runs in a *cold* process (a new Python process, a new ``Registry`` over a new
``FsspecStorage`` on the same store; the first call is timed, median over
``--cold-repeat`` processes) and then *warm* (the same call again in that process,
median of ``--warm-repeat`` calls):

- ``register``: one more version;
- ``get("m@prod")``: the record the alias points at;
- ``versions()``: every record (total and per version);
- ``load("m@prod")``: the model, its artifact checked against its sha256;
- ``store.list("bench")``: a reference, one listing of a 1-key prefix (on moto a
  LIST costs time in proportion to the bucket's size; on S3 it does not).

"Cold" means the data is cold, not the code: before the timed call the worker runs
the same operations on a throwaway ``MemoryStorage`` (imports, lazy initialisation)
and writes one key outside the registry (which also opens the S3 connection). Only the public API is used
(``Registry``, ``FsspecStorage``, ``signing_key=``).

Requests: S3 is served by moto's ``ThreadedMotoServer`` on 127.0.0.1, started here,
behind a WSGI middleware that counts every HTTP request it receives by type (GET,
PUT, HEAD, LIST, DELETE, POST), with the misses (4xx answers) in brackets; a sanity
check first verifies that one ``store.read`` is exactly one GET. On the local folder
the counts are calls of the storage's backend hooks (``_read``, ``_create``, ...).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"
BUCKET = "bench"
MODEL = "m"
ALIAS = "prod"
KEY = "bench-signing-key"
OPS = ("get", "versions", "load", "register", "list")  # register after the reads: it adds versions
COUNTS_PATH = "/_bench/counts"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


# -- the S3 server and its request counter (driver process) ---------------------------


class CountingApp:
    """WSGI middleware: counts requests by type; ``GET /_bench/counts`` returns the counts."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == COUNTS_PATH:
            with self.lock:
                body = json.dumps(dict(self.counts)).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        kind = request_kind(environ)

        def counting_start_response(status: str, headers: Any, *args: Any) -> Any:
            with self.lock:
                self.counts[kind] += 1
                if status[:1] == "4":
                    self.counts[f"{kind} miss"] += 1
            return start_response(status, headers, *args)

        return self.app(environ, counting_start_response)


def request_kind(environ: dict[str, Any]) -> str:
    method = environ["REQUEST_METHOD"]
    bucket_level = environ.get("PATH_INFO", "").strip("/").count("/") == 0
    if method == "GET" and (bucket_level or "list-type" in environ.get("QUERY_STRING", "")):
        return "LIST"
    return str(method)


def start_moto() -> tuple[Any, str]:
    """A moto S3 server on 127.0.0.1 with bucket ``bench``, its requests counted."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    make_moto_puts_atomic()
    os.environ.update(CREDENTIALS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    wsgi = server._server  # werkzeug's server; its handler reads `.app` per request
    wsgi.app = CountingApp(wsgi.app)
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    import s3fs

    s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=endpoint).mkdir(BUCKET)
    return server, endpoint


def make_moto_puts_atomic() -> None:
    """moto checks ``If-None-Match: *`` and stores the object without a lock, so two
    concurrent creates could both win on its threaded server; S3 never allows that."""
    from moto.s3.responses import S3Response

    original = S3Response._key_response_put
    lock = threading.Lock()

    @functools.wraps(original)
    def put(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    S3Response._key_response_put = put  # type: ignore[method-assign]


# -- counting, in the worker processes ------------------------------------------------


class Requests:
    """Counts of storage requests: HTTP requests at the moto server, or local hook calls."""

    def __init__(self, store: Any, endpoint: str | None) -> None:
        self.endpoint = endpoint
        self.local: Counter[str] = Counter()
        if endpoint is None:
            count_hooks(store, self.local)

    def snapshot(self) -> Counter[str]:
        if self.endpoint is None:
            return Counter(self.local)
        with urllib.request.urlopen(self.endpoint + COUNTS_PATH) as response:
            return Counter(json.loads(response.read()))

    def since(self, before: Counter[str], calls: int = 1) -> dict[str, float]:
        diff = self.snapshot() - before
        return {kind: n / calls for kind, n in sorted(diff.items())}


def count_hooks(store: Any, counts: Counter[str]) -> None:
    """Wrap the backend hooks of ``store`` (its class's ``_name`` methods) to count calls."""
    skip = {"_call", "_make_driver"}
    for name, value in vars(type(store)).items():
        if not name.startswith("_") or name.startswith("__") or name in skip or not callable(value):
            continue
        bound = getattr(store, name)

        def counted(*args: Any, _bound: Any = bound, _name: str = name.lstrip("_"), **kwargs: Any) -> Any:
            counts[_name] += 1
            return _bound(*args, **kwargs)

        setattr(store, name, counted)


# -- workers (each runs in its own process) --------------------------------------------


def open_store(store: str, endpoint: str | None, signing: bool) -> Any:
    import mlops_kit as mk

    os.environ.pop("MLOPS_KIT_SIGNING_KEY", None)
    key = KEY if signing else None
    if endpoint is None:
        return mk.FsspecStorage(store, signing_key=key)
    os.environ.update(CREDENTIALS)
    return mk.FsspecStorage(store, signing_key=key, endpoint_url=endpoint, key="testing", secret="testing")


def worker_build(store: str, endpoint: str | None, signing: bool, target: int, alias_every: int) -> dict:  # type: ignore[type-arg]
    import mlops_kit as mk

    reg = mk.Registry(open_store(store, endpoint, signing))
    try:
        have = reg.get(MODEL).version
    except mk.NotFoundError:
        have = 0
    t0 = time.perf_counter()
    for i in range(have + 1, target + 1):
        mv = reg.register(MODEL, {"i": i, "salt": uuid.uuid4().hex})
        if mv.version % alias_every == 0 or i == target:
            reg.set_alias(MODEL, ALIAS, mv.version)
        if i % 1000 == 0:
            rate = (i - have) / (time.perf_counter() - t0)
            print(f"    built {i:,} / {target:,} versions ({rate:.0f}/s)", file=sys.stderr, flush=True)
    return {"built": target - have, "seconds": time.perf_counter() - t0, "last": reg.get(MODEL).version}


def warm_code(signing: bool) -> None:
    """Run every measured operation once on a throwaway store: imports and lazy set-up."""
    import mlops_kit as mk

    reg = mk.Registry(mk.MemoryStorage(signing_key=KEY if signing else None))
    for i in range(12):
        reg.register(MODEL, {"i": i})
    reg.set_alias(MODEL, ALIAS, 12)
    reg.get(f"{MODEL}@{ALIAS}"), reg.versions(MODEL), reg.load(f"{MODEL}@{ALIAS}")


def worker_op(store: str, endpoint: str | None, signing: bool, op: str, repeat: int) -> dict:  # type: ignore[type-arg]
    import mlops_kit as mk

    warm_code(signing)
    storage = open_store(store, endpoint, signing)
    storage.write("bench/ref", b"x")  # a 1-key prefix for the reference LIST; also opens the S3 connection
    reg = mk.Registry(storage)
    counter = Requests(storage, endpoint)
    calls: dict[str, Callable[[], Any]] = {
        "get": lambda: reg.get(f"{MODEL}@{ALIAS}"),
        "versions": lambda: reg.versions(MODEL),
        "load": lambda: reg.load(f"{MODEL}@{ALIAS}"),
        "register": lambda: reg.register(MODEL, {"salt": uuid.uuid4().hex}),
        "list": lambda: storage.list("bench"),  # reference: one LIST of a 1-key prefix
    }
    call = calls[op]
    before = counter.snapshot()
    t0 = time.perf_counter()
    result = call()
    cold = time.perf_counter() - t0
    cold_requests = counter.since(before)
    n = len(result) if op == "versions" else None
    times = []
    before = counter.snapshot()
    for _ in range(repeat):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return {
        "cold": cold,
        "warm": statistics.median(times),
        "cold_requests": cold_requests,
        "warm_requests": counter.since(before, repeat),
        "n": n,
    }


def worker_sanity(store: str, endpoint: str) -> dict:  # type: ignore[type-arg]
    """Each probe counted twice: at the server, and as requests botocore sends in this process."""
    from urllib.parse import urlsplit

    storage = open_store(store, endpoint, False)
    storage.write("bench/probe", b"x")
    counter = Requests(storage, endpoint)
    sent: Counter[str] = Counter()

    def on_send(request: Any, **_: Any) -> None:
        url = urlsplit(request.url)
        environ = {"REQUEST_METHOD": request.method, "PATH_INFO": url.path, "QUERY_STRING": url.query}
        sent[request_kind(environ)] += 1

    storage.fs.s3.meta.events.register("before-send.s3", on_send)
    out = {}
    for name, call in {
        "store.read(key)": lambda: storage.read("bench/probe"),
        "store.read(missing key)": lambda: storage.read("bench/missing"),
        "store.exists(key)": lambda: storage.exists("bench/probe"),
        "store.list(prefix)": lambda: storage.list("bench"),
        "store.create(existing key)": lambda: storage.create("bench/probe", b"y"),
    }.items():
        before, sent_before = counter.snapshot(), Counter(sent)
        try:
            call()
        except Exception as exc:  # the missing key: NotFoundError, as it should
            if type(exc).__name__ != "NotFoundError":
                raise
        client = {kind: float(n) for kind, n in sorted((sent - sent_before).items())}
        out[name] = {"server": counter.since(before), "client": client}
    storage.delete("bench/probe")
    return out


# -- driver ---------------------------------------------------------------------------


def run_worker(*args: str, progress: bool = False) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *args],
        stdout=subprocess.PIPE,
        stderr=None if progress else subprocess.PIPE,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed:\n{(out.stderr or '')[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def fmt_requests(counts: dict[str, float]) -> str:
    if not counts:
        return "none"
    parts = []
    for kind, n in counts.items():
        if kind.endswith(" miss"):
            continue
        miss = counts.get(f"{kind} miss", 0)
        cell = f"{n:g} {kind}" + (f" ({miss:g} miss)" if miss else "")
        parts.append(cell)
    return ", ".join(parts)


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:.0f}"


def measure(backend: str, store: str, endpoint: str | None, args: argparse.Namespace) -> dict:  # type: ignore[type-arg]
    common = ["--store", store, "--endpoint", endpoint or "", *(["--signing"] if args.signing else [])]
    results: dict[int, dict[str, dict]] = {}  # type: ignore[type-arg]
    for mark in sorted(args.versions):
        print(f"  {backend}: building to {mark:,} versions ...", flush=True)
        built = run_worker("build", *common, "--target", str(mark), "--alias-every", str(args.alias_every),
                           progress=True)  # fmt: skip
        if built["built"]:
            print(f"    {built['built']:,} versions in {built['seconds']:.1f} s "
                  f"({built['seconds'] / built['built'] * 1e3:.2f} ms each)", flush=True)  # fmt: skip
        results[mark] = {}
        for op in OPS:
            repeat = max(3, args.warm_repeat // 4) if op == "versions" else args.warm_repeat
            t0 = time.perf_counter()
            runs = [
                run_worker("op", *common, "--op", op, "--repeat", str(repeat))
                for _ in range(args.cold_repeat)
            ]
            results[mark][op] = {
                "cold": statistics.median(r["cold"] for r in runs),
                "warm": statistics.median(r["warm"] for r in runs),
                "cold_requests": runs[0]["cold_requests"],
                "warm_requests": runs[0]["warm_requests"],
                "n": runs[0]["n"],
            }
            print(
                f"    {op}: {time.perf_counter() - t0:.1f} s for {args.cold_repeat} cold processes",
                flush=True,
            )
    return results


def print_tables(backend: str, results: dict[int, dict[str, dict]]) -> None:  # type: ignore[type-arg]
    marks = sorted(results)
    lo, hi = marks[0], marks[-1]
    label = {"get": f'get("{MODEL}@{ALIAS}")', "versions": "versions()", "load": f'load("{MODEL}@{ALIAS}")',
             "register": "register", "list": 'store.list("bench")'}  # fmt: skip
    print(f"\n{backend}: ms, cold = a new process's first call (median of processes), warm = median of calls")
    head = f"{'operation':<22}"
    for kind in ("cold", "warm"):
        head += f"{f'{kind} N={lo:,}':>16}{f'{kind} N={hi:,}':>18}{'ratio':>9}"
    print(head)
    for op in OPS:
        rows = [(label[op], 1.0)]
        if op == "versions":
            rows.append(("  per version (us)", 0.0))
        for text, _ in rows:
            line = f"{text:<22}"
            for kind in ("cold", "warm"):
                a, b = results[lo][op][kind], results[hi][op][kind]
                if text.startswith("  per"):
                    a, b = a / results[lo][op]["n"], b / results[hi][op]["n"]
                    cells = f"{a * 1e6:>16.2f}{b * 1e6:>18.2f}"
                else:
                    cells = f"{fmt_ms(a):>16}{fmt_ms(b):>18}"
                ratio = b / a
                line += f"{cells}{f'{ratio:.2f}x' if ratio < 100 else f'{ratio:.0f}x':>9}"
            print(line)
    what = "HTTP requests to S3" if backend == "s3" else "storage hook calls"
    print(f"\n{backend}: {what} per operation (warm: per call, mean)")
    for mark in marks:
        for op in OPS:
            r = results[mark][op]
            print(f"  N={mark:<6,} {label[op]:<20} cold: {fmt_requests(r['cold_requests'])}")
            print(f"  {'':<8} {'':<20} warm: {fmt_requests(r['warm_requests'])}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", type=int, nargs="+", default=[10, 10_000], help="marks, e.g. 10 10000")
    parser.add_argument("--backends", nargs="+", default=["local", "s3"], choices=["local", "s3"])
    parser.add_argument("--alias-every", type=int, default=10, help="move prod to every k-th version")
    parser.add_argument("--cold-repeat", type=int, default=3, help="cold processes per operation")
    parser.add_argument("--warm-repeat", type=int, default=20, help="warm calls per process")
    parser.add_argument("--signing", action="store_true", help="sign every record (signing_key=...)")
    parser.add_argument("--worker")
    parser.add_argument("--store")
    parser.add_argument("--endpoint", default="")
    parser.add_argument("--target", type=int)
    parser.add_argument("--op")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    endpoint = args.endpoint or None
    if args.worker:
        sys.path.insert(0, str(ROOT))
        if args.worker == "build":
            result = worker_build(args.store, endpoint, args.signing, args.target, args.alias_every)
        elif args.worker == "op":
            result = worker_op(args.store, endpoint, args.signing, args.op, args.repeat)
        else:
            result = worker_sanity(args.store, args.endpoint)
        print(json.dumps(result))
        return

    started = time.perf_counter()
    print(f"versions {args.versions}, prod moved every {args.alias_every} versions, "
          f"signing {'on' if args.signing else 'off'}, {os.cpu_count()} cores", flush=True)  # fmt: skip
    BENCH.mkdir(exist_ok=True)
    server = None
    tables = {}
    try:
        for backend in args.backends:
            if backend == "local":
                with tempfile.TemporaryDirectory(dir=BENCH) as folder:
                    tables[backend] = measure(backend, folder, None, args)
                continue
            server, url = start_moto()
            store = f"s3://{BUCKET}/{uuid.uuid4().hex}"
            sanity = run_worker("sanity", "--store", store, "--endpoint", url)
            print("  s3 counter sanity check: requests seen by moto | sent by botocore in the client")
            for name, counts in sanity.items():
                seen, client = counts["server"], counts["client"]
                agree = {k: v for k, v in seen.items() if not k.endswith(" miss")} == client
                print(f"    {name:<28} {fmt_requests(seen):<28} | {fmt_requests(client):<22}"
                      f" {'(agree)' if agree else '(DISAGREE)'}")  # fmt: skip
            tables[backend] = measure(backend, store, url, args)
    finally:
        if server is not None:
            server.stop()
    for backend, results in tables.items():
        print_tables(backend, results)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
