"""``fit`` on several workers: the cluster, each worker's rows and outputs, the strategy, and a peer that stops.

Every worker runs the same ``kmeans-tf fit`` command with its own ``--worker-index`` (or a
``TF_CONFIG`` in its environment, as TensorFlow's own multi-worker programs take it). The
workers join through ``tf.distribute.MultiWorkerMirroredStrategy`` over gRPC. With
``--split rows`` (the default) every worker reads the same DATA and takes a contiguous
range of its rows (worker ``i`` of ``N``: rows ``i*n//N`` to ``(i+1)*n//N``); with
``--split files`` DATA is the worker's own file, taken whole. Worker 0 writes
``--centroids-out`` and prints ``--json`` (the summary of all the rows); each worker writes
its own rows' labels, with its index in the name (``labels.txt`` -> ``labels.worker1.txt``).
The options are declared in ``kmeans_tf.cli.options`` and checked into the request by
``kmeans_tf.cli.requests``, which imports this module only for a fit on several workers.
Nothing here imports TensorFlow until the strategy is made. A worker's stderr holds no log
line of TensorFlow's or gRPC's (``quiet_logging``): a failure is one ``Error:`` line.
"""

import atexit
import contextlib
import dataclasses
import errno
import hashlib
import json
import logging
import os
import re
import socket
import sys
from pathlib import Path

import click
import numpy as np

from kmeans_tf import data_io
from kmeans_tf.cli.options import SPLIT_ROWS, SPLITS, TF_CONFIG
from kmeans_tf.engine.options import ALGORITHMS, INIT_STRATEGIES, METRICS

TASK_TYPE = "worker"  # every process is a worker of this job in TF_CONFIG
# TensorFlow's and gRPC's own log lines, off on a worker (values the user set stay): it says a failure in one line.
QUIET_LOGGING = {"TF_CPP_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "NONE"}
PORT_RANGE = (1, 65535)
# Where TensorFlow's gRPC server listens, whatever host a worker's address names: every interface, IPv6 and IPv4.
LISTENS_ON = ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0"))
NOT_STARTED = "Could not start gRPC server"  # TensorFlow's error when its server cannot listen on the port
TIMED_OUT_TASKS = "timed out task names:"  # in TensorFlow's error of a barrier, before the tasks that did not come
# In TensorFlow's error when this worker's heartbeat got no answer from the coordination service, which worker 0 runs.
UNANSWERED_HEARTBEAT = "CoordinationService/Heartbeat"
# How a shared setting is exchanged: a number as it is, a digest as an integer below 2**48 (exact in float64).
NUMBER, DIGEST = "a number", "a digest"
DIGEST_BYTES = 6
INIT_FILE = "a file"  # --init names a file of centroids, not one of INIT_STRATEGIES
WEIGHTS = ("not given", "given")
DTYPES = tuple(np.dtype(code).name for code in np.typecodes["AllFloat"] + np.typecodes["AllInteger"])


@dataclasses.dataclass(frozen=True)
class Cluster:
    """The workers' addresses (``host:port``, in index order) and this worker's index."""

    workers: tuple
    index: int

    @property
    def leader(self):
        return self.index == 0


def parse_workers(text):
    """Return the addresses of a ``--workers`` list; ValueError (one line) for a bad or repeated one."""
    workers = [item.strip() for item in text.split(",")]
    for address in workers:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not PORT_RANGE[0] <= int(port) <= PORT_RANGE[1]:
            raise ValueError(
                f"--workers: {address!r} should be HOST:PORT with a port in {PORT_RANGE[0]}-{PORT_RANGE[1]}"
            )
    repeated = sorted({address for address in workers if workers.count(address) > 1})
    if repeated:
        raise ValueError(f"--workers: {repeated[0]} is given twice; each worker needs an address of its own")
    return tuple(workers)


def check_ports_apart(addresses):
    """Refuse (ValueError, one line) two addresses of this machine with one port, under any host names.

    A worker's server listens on every interface of its machine (``LISTENS_ON``), so two
    workers of one machine need two ports even where their host names differ.
    """
    here = {}  # port -> the first address of this machine with it
    for address in addresses:
        host, _, port = address.rpartition(":")
        if not is_this_machine(host):
            continue
        if port in here:
            raise ValueError(
                f"--workers: {here[port]} and {address} are both port {port} of this machine, where a worker "
                f"listens on every interface; give each worker of one machine a port of its own"
            )
        here[port] = address


def is_this_machine(host):
    """Tell whether ``host`` names an address of this machine (one that a socket can bind to)."""
    try:
        found = socket.getaddrinfo(host.strip("[]"), None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False  # a name that does not resolve here: another machine's, or a mistake TensorFlow reports
    for family, kind, protocol, _, address in found:
        with contextlib.suppress(OSError), socket.socket(family, kind, protocol) as probe:
            probe.bind((address[0], 0, *address[2:]))
            return True
    return False


def check_port_free(cluster):
    """Raise ``click.ClickException`` when this worker's port is taken where its server would listen."""
    host, _, port = cluster.workers[cluster.index].rpartition(":")
    for family, anywhere in LISTENS_ON:
        try:
            probe = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no such family on this machine
        with probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC does: a closed one's port is free
            try:
                probe.bind((anywhere, int(port)))
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise port_in_use(cluster, host, port) from None
            else:
                return


def port_in_use(cluster, host, port):
    """The line that stops worker ``cluster.index`` when its ``port`` is taken."""
    return click.ClickException(
        f"port {port} on {host} is in use (by another program, or by another worker given --worker-index "
        f"{cluster.index}); worker {cluster.index} stops"
    )


def check_cluster(workers, worker_index, environ=os.environ):
    """Return the ``Cluster`` of ``--workers``/``--worker-index`` or ``TF_CONFIG``, or None for one process.

    Refused (ValueError, one line) before anything starts: a bad list, an index out of range,
    an index without a list, and a list or index that disagrees with ``TF_CONFIG``.
    """
    from_environment = _from_tf_config(environ.get(TF_CONFIG))
    if workers is None:
        if worker_index is not None and from_environment is None:
            raise ValueError("--worker-index needs --workers (or TF_CONFIG in the environment)")
        if from_environment is not None and worker_index not in (None, from_environment.index):
            raise ValueError(
                f"--worker-index {worker_index} disagrees with {TF_CONFIG}'s task index {from_environment.index}"
            )
        return from_environment
    addresses = parse_workers(workers)
    if worker_index is None:
        raise ValueError("--workers needs --worker-index (this worker's place in the list)")
    if worker_index >= len(addresses):
        raise ValueError(
            f"--worker-index {worker_index} is out of range for {len(addresses)} workers (0 to {len(addresses) - 1})"
        )
    check_ports_apart(addresses)
    cluster = Cluster(addresses, worker_index)
    if from_environment is not None and from_environment != cluster:
        raise ValueError(
            f"--workers {workers} --worker-index {worker_index} disagree with {TF_CONFIG} "
            f"(workers {','.join(from_environment.workers)}, index {from_environment.index})"
        )
    return cluster


def _from_tf_config(text):
    if not text:
        return None
    try:
        config = json.loads(text)
        addresses, task = config["cluster"][TASK_TYPE], config["task"]
        if not isinstance(addresses, list) or not all(isinstance(address, str) for address in addresses):
            raise ValueError(f"the {TASK_TYPE} addresses should be a list of 'HOST:PORT' strings, got {addresses!r}")
        if task.get("type") != TASK_TYPE:
            raise ValueError(f"task type {task.get('type')!r}, not 'worker'")
        index = int(task["index"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{TF_CONFIG} should name the cluster's workers and this worker's task: {error}") from None
    workers = parse_workers(",".join(addresses))
    if not 0 <= index < len(workers):
        raise ValueError(f"{TF_CONFIG}'s task index {index} is out of range for {len(workers)} workers")
    return Cluster(workers, index)


def labels_path(path, cluster):
    """This worker's ``--labels-out``: the index in the name (``labels.txt`` -> ``labels.worker1.txt``)."""
    if path is None or str(path) == data_io.STDIN or data_io.is_special_output(path):
        return path
    path = Path(path)
    return path.with_name(f"{path.stem}.worker{cluster.index}{path.suffix}")


class Workers:
    """This worker's part of a fit on several workers: its rows, the strategy that joins it to the others, the totals.

    A fit in one process has the same methods (``kmeans_tf.cli.clustering.SingleProcess``), so
    that ``fit`` reads the same either way. Nothing here imports TensorFlow until ``connect``.
    """

    def __init__(self, cluster, split, timeout):
        self.cluster, self.split, self.timeout = cluster, split, timeout
        self.leader = cluster.leader  # worker 0 writes --centroids-out and prints --json
        self.strategy = self.replicas = None

    def share(self, values, weights, n_rows):
        """Return this worker's rows of ``values`` (``n_rows`` rows) and ``weights``, and how many they are.

        With ``--split rows``, worker ``i`` of ``N`` takes rows ``i*n//N`` to ``(i+1)*n//N``; with
        ``--split files``, all of them (DATA is its own file).
        """
        if self.split != SPLIT_ROWS:
            return values, weights, n_rows
        from kmeans_tf.distributed.replicas import row_range  # the rows of an array or of Shards, as the same kind

        count, index = len(self.cluster.workers), self.cluster.index
        start, stop = n_rows * index // count, n_rows * (index + 1) // count
        if start == stop:
            raise ValueError(f"DATA has {n_rows} rows, fewer than the {count} workers; give each at least one row")
        return row_range(values, start, stop), None if weights is None else weights[start:stop], stop - start

    def connect(self, request, table):
        """Set ``TF_CONFIG`` for the cluster and return its MultiWorkerMirroredStrategy.

        The workers connect first: a worker that has not connected within the timeout
        stops the others with one line naming it (``click.ClickException``). Then they
        compare the ``shared_settings`` of their ``request`` and ``table``: where one differs,
        every worker stops with one line naming it.
        """
        from kmeans_tf._tensorflow import tf
        from kmeans_tf.distributed.replicas import Replicas  # the strategy's collectives

        cluster = self.cluster
        check_port_free(cluster)
        os.environ[TF_CONFIG] = json.dumps(
            {"cluster": {TASK_TYPE: list(cluster.workers)}, "task": {"type": TASK_TYPE, "index": cluster.index}}
        )
        connect_within(self.timeout, len(cluster.workers))
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=self.timeout)
        try:
            self.strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
        except tf.errors.OpError as error:
            if NOT_STARTED in str(error):  # taken since check_port_free looked
                exit_without_teardown()
                raise port_in_use(cluster, *cluster.workers[cluster.index].rsplit(":", 1)) from None
            raise self._stop(error, "did not connect", "stops") from None
        self.replicas = Replicas(self.strategy)
        settings = shared_settings(request, table)
        with self.answering():
            gathered = self.replicas.gather([[encode_settings(settings)]] * self.replicas.local)
        differing = disagreement(settings, gathered[:: self.replicas.local])
        if differing is not None:
            exit_without_teardown()
            raise click.ClickException(f"{differing}; every worker runs the same command but --worker-index")
        return self.strategy

    @contextlib.contextmanager
    def answering(self):
        """Turn a collective's failure (a worker stopped, or did not answer within the timeout) into one line."""
        from kmeans_tf._tensorflow import tf

        try:
            yield
        except tf.errors.OpError as error:
            raise self._stop(error, "stopped answering", "stops too") from None

    def _stop(self, error, happened, ending):
        """Return the one line that stops this worker after a peer's ``error``; end the process at once after it."""
        exit_without_teardown()
        return click.ClickException(
            f"{peer_named(error, self.cluster)} {happened} (within --timeout {self.timeout:g} s: "
            f"{type(error).__name__}); worker {self.cluster.index} {ending}"
        )

    def totals(self, n_samples, sizes, total_weight):
        """Return the row count, cluster sizes and total weight of every worker's rows (one all-reduce)."""
        with self.answering():
            summed = self.replicas.sum([np.concatenate([[n_samples, total_weight], sizes])])
        return int(summed[0]), summed[2:].astype(np.int64), float(summed[1])


def quiet_logging(cluster, environ=os.environ):
    """Set ``QUIET_LOGGING``'s defaults in ``environ`` on a worker, before TensorFlow's import (which reads them).

    Unless the user set TensorFlow's C++ log level, its Python logger (``WARNING:tensorflow:``
    lines) says nothing below CRITICAL either.
    """
    if cluster is None or "tensorflow" in sys.modules:
        return
    if "TF_CPP_MIN_LOG_LEVEL" not in environ:
        logging.getLogger("tensorflow").setLevel(logging.CRITICAL)
    for name, value in QUIET_LOGGING.items():
        environ.setdefault(name, value)


def exit_without_teardown(code=1):
    """When the process exits (after the error line and every cleanup), end it at once with ``code``.

    With a peer gone, TensorFlow's runtime can print from its threads or wait while the
    interpreter tears it down; a worker that already said why it stops skips that teardown.
    """

    def now():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    atexit.register(now)


def connect_within(timeout, count):
    """Make the strategy's workers wait at most ``timeout`` seconds for each other to connect.

    The strategy configures TensorFlow's coordination service (led by worker 0) only when
    nothing configured it before; this configures it as the strategy would, plus a deadline
    on every worker's registration, after which each waiting worker gets an ``OpError``.
    """
    from tensorflow.python.eager import context

    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=f"/job:{TASK_TYPE}/replica:0/task:0",
        cluster_register_timeout_in_ms=max(1, round(timeout * 1000)),
    )
    config = context.context().coordination_service
    if hasattr(config, "cluster_register_with_barrier"):  # a field of newer TensorFlows (2.21 has it)
        config.cluster_register_with_barrier = True  # registration waits for every worker, within the deadline
    job = config.coordinated_job_list.add()
    job.name, job.num_tasks = TASK_TYPE, count


def peer_named(error, cluster):
    """Name the other worker that a TensorFlow error points at: ``worker I (HOST:PORT)``, else ``a worker``.

    The first other task the error mentions (``task:I``); a barrier that timed out (the
    workers' registration) names the tasks that reached it first, then those that did not:
    the first of these. An error that names no other task: worker 0 when this worker's
    heartbeat got no answer from the coordination service (worker 0 runs it), else the
    other worker when there are two.
    """
    text = str(error)
    missing = text.partition(TIMED_OUT_TASKS)[2] or text
    others = [int(task) for task in re.findall(r"task:(\d+)", missing) if int(task) != cluster.index]
    if not others and UNANSWERED_HEARTBEAT in text and cluster.index != 0:
        others = [0]
    if not others and len(cluster.workers) == 2:
        others = [1 - cluster.index]
    if others and others[0] < len(cluster.workers):
        return f"worker {others[0]} ({cluster.workers[others[0]]})"
    return "a worker"


def shared_settings(request, table):
    """The options and the data's shape that every worker of a fit must share, as (name, value, kind) in check order.

    ``request``: the checked ``FitRequest`` (``--init``'s centroids read); ``table``: the open
    data. A kind is ``NUMBER``, ``DIGEST`` (of bytes) or a tuple of the values allowed.
    """
    init_file = not isinstance(request.init, str)
    dtype = np.dtype(getattr(table.values, "arrays", [table.values])[0].dtype).name  # an array's, or Shards' first
    return [
        ("--split", request.split, SPLITS),
        ("the rows of DATA (--split rows)", table.shape[0] if request.split == SPLIT_ROWS else None, NUMBER),
        ("the columns of DATA", table.shape[1], NUMBER),
        ("the data's dtype", dtype, DTYPES),
        ("--weights", WEIGHTS[request.weights is not None], WEIGHTS),
        ("-k", request.clusters, NUMBER),
        ("--init", INIT_FILE if init_file else request.init, (*INIT_STRATEGIES, INIT_FILE)),
        ("--init's centroids", _centroid_bytes(request.init) if init_file else b"", DIGEST),
        ("--init-seed", request.init_seed, NUMBER),
        ("--n-init", request.n_init, NUMBER),
        ("--init-rounds", request.init_rounds, NUMBER),
        ("--max-iter", request.max_iter, NUMBER),
        ("--tol", request.tol, NUMBER),
        ("--algorithm", request.algorithm, ALGORITHMS),
        ("--metric", request.metric, METRICS),
    ]


def _centroid_bytes(centroids):
    array = np.ascontiguousarray(centroids)
    return f"{array.dtype.str}{array.shape}".encode() + array.tobytes()


def encode_settings(settings):
    """Return ``shared_settings`` as float64 numbers: a number as it is (None: NaN), a digest, a choice's index."""
    encoded = []
    for _, value, kind in settings:
        if kind == NUMBER:
            encoded.append(np.nan if value is None else float(value))
        elif kind == DIGEST:
            encoded.append(float(int.from_bytes(hashlib.sha256(value).digest()[:DIGEST_BYTES], "big")))
        else:
            encoded.append(float(kind.index(value)) if value in kind else -1.0)
    return np.array(encoded)


def disagreement(settings, gathered):
    """Return the line that names the first of ``settings`` that the workers' rows of ``gathered`` differ on, or None.

    ``gathered``: one row of ``encode_settings`` per worker, in index order.
    """
    for column, (name, _, kind) in enumerate(settings):
        values = gathered[:, column]
        if np.array_equal(values, np.full_like(values, values[0]), equal_nan=True):
            continue
        seen = {}  # each value shown -> the workers that hold it
        for index, value in enumerate(values):
            seen.setdefault(_shown(value, kind), []).append(str(index))
        held = ", ".join(f"{value} (worker{'s' * (len(held) > 1)} {', '.join(held)})" for value, held in seen.items())
        return f"the workers disagree on {name}: {held}"
    return None


def _shown(value, kind):
    if np.isnan(value):
        return "none"
    if kind == NUMBER:
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if kind == DIGEST:
        return f"digest {int(value):0{2 * DIGEST_BYTES}x}"
    return kind[int(value)] if value >= 0 else "another"
