"""Where a command's messages go, and the funnel that turns every failure into one ``Error:`` line."""

import contextlib
import dataclasses
import signal
import sys
import threading
import time
import traceback

import click

# Signals that stop a command as Ctrl-C does: every cleanup runs (no temporary file is left), then it exits.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
# A fit's progress line appears once the fit has run this long (a short fit leaves none).
PROGRESS_AFTER_SECONDS = 2.0


@dataclasses.dataclass
class Console:
    """Where a command's messages go: stderr, less of it with ``--quiet``, more with ``--verbose``."""

    verbose: bool = False
    quiet: bool = False

    def note(self, message):
        """Tell the user what happened (a file written, a summary), unless ``--quiet``."""
        if not self.quiet:
            click.echo(message, err=True)

    def detail(self, message):
        """Say more, with ``--verbose`` (and not ``--quiet``)."""
        if self.verbose and not self.quiet:
            click.echo(message, err=True)

    @contextlib.contextmanager
    def progress(self, length, label):
        """Yield a function to call after each step: a progress bar when stderr is a terminal."""
        if self.quiet or not stderr_is_terminal():
            yield lambda: None
            return
        with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
            yield lambda: bar.update(1)

    @contextlib.contextmanager
    def throughput(self, total_bytes, label):
        """Yield ``update(rows, bytes_done)``: a bar of bytes read, with rows and MB/s, when stderr is a terminal.

        No bar when ``total_bytes`` is None (a pipe) or ``bytes_done`` is.
        """
        if self.quiet or not stderr_is_terminal() or not total_bytes:
            yield lambda rows, done: None
            return
        start = time.monotonic()
        with click.progressbar(
            length=total_bytes, label=label, file=sys.stderr, item_show_func=lambda text: text
        ) as bar:

            def update(rows, done):
                if done is not None:
                    rate = done / max(time.monotonic() - start, 1e-9) / 1e6
                    bar.update(done - bar.pos, f"{rows} rows, {rate:.0f} MB/s")

            yield update

    @contextlib.contextmanager
    def iterations(self, length, label, rows=None):
        """Yield ``show(state)`` for a fit's ``IterationState``s, or None where no progress line may show.

        The line shows on stderr when it is a terminal (not with ``--quiet``), once the fit has run
        ``PROGRESS_AFTER_SECONDS``: a bar of the run's iterations out of ``length``, the run, the
        inertia and, given the ``rows`` an iteration reads, the rows read per second.
        """
        if self.quiet or not stderr_is_terminal():
            yield None
            return
        began, shown = time.monotonic(), []
        with contextlib.ExitStack() as stack:

            def show(state):
                if not shown and time.monotonic() - began < PROGRESS_AFTER_SECONDS:
                    return
                if not shown:
                    bar = click.progressbar(
                        length=length,
                        label=label,
                        file=_Terminal(sys.stderr),
                        show_pos=True,
                        item_show_func=lambda text: text,
                    )
                    shown.append(stack.enter_context(bar))
                text = f"run {state.run + 1}, inertia {state.inertia:.6g}"
                if rows is not None:
                    text += f", {rows * (state.iteration + 1) / max(state.seconds, 1e-9):.3g} rows/s"
                shown[0].update(state.iteration + 1 - shown[0].pos, text)

            yield show


def stderr_is_terminal():
    return sys.stderr.isatty()


class _Terminal:
    """A stream that ``stderr_is_terminal`` found to be a terminal: click draws its bar there in full."""

    def __init__(self, stream):
        self.stream = stream

    def isatty(self):
        return True

    def __getattr__(self, name):
        return getattr(self.stream, name)


def stdout_is_terminal():
    return sys.stdout.isatty()


def one_line(error):
    """Return an exception's message on one line (its type's name when it has none)."""
    return " ".join(str(error).split()) or type(error).__name__


class Stopped(BaseException):
    """Raised in the main thread by one of STOP_SIGNALS, so that every ``finally`` runs, as for Ctrl-C."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def stopping_on_signals():
    """Turn STOP_SIGNALS into ``Stopped`` inside the block (in the main thread; a signal ignored stays ignored).

    A second signal, while the first one's cleanup runs, takes the signal's default action.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def stop(signum, frame):
        for each, handler in previous.items():
            signal.signal(each, handler)
        raise Stopped(signum)

    try:
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) is signal.SIG_DFL:
                previous[signum] = signal.signal(signum, stop)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def funnel(ctx, error_class):
    """Turn expected failures (bad values, unreadable files) inside the block into one line: ``error_class``."""
    try:
        yield
    except (ValueError, OSError) as error:
        raise error_class(one_line(error)) from None
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Exception as error:  # a bug, not bad input: still one line, unless --verbose
        if ctx.ensure_object(Console).verbose:
            traceback.print_exc()
        raise click.ClickException(
            f"internal error: {type(error).__name__}: {one_line(error)} (--verbose shows the traceback)"
        ) from None


class Command(click.Command):
    """A command whose expected failures (bad values, unreadable files) end in one ``Error:`` line.

    Its options' callbacks run through the same funnel (a failure there is a usage error, exit
    status 2); SIGTERM and SIGHUP stop it as Ctrl-C does, with exit status 128 + the signal's number.
    """

    def parse_args(self, ctx, args):
        with funnel(ctx, click.UsageError):
            return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            with stopping_on_signals(), funnel(ctx, click.ClickException):
                return super().invoke(ctx)
        except Stopped as stopped:
            click.echo(f"Aborted: {stopped}", err=True)
            raise click.exceptions.Exit(128 + stopped.signum) from None


class Group(click.Group):
    """The command group: its commands are ``Command``s."""

    command_class = Command
