"""Where a command's messages go, and the funnel that turns every failure into one ``Error:`` line."""

import contextlib
import dataclasses
import sys
import time
import traceback

import click


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


def stderr_is_terminal():
    return sys.stderr.isatty()


def one_line(error):
    """Return an exception's message on one line (its type's name when it has none)."""
    return " ".join(str(error).split()) or type(error).__name__


class Command(click.Command):
    """A command whose expected failures (bad values, unreadable files) end in one ``Error:`` line."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (ValueError, OSError) as error:
            raise click.ClickException(one_line(error)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:  # a bug, not bad input: still one line, unless --verbose
            if ctx.ensure_object(Console).verbose:
                traceback.print_exc()
            raise click.ClickException(
                f"internal error: {type(error).__name__}: {one_line(error)} (--verbose shows the traceback)"
            ) from None


class Group(click.Group):
    """The command group: its commands are ``Command``s."""

    command_class = Command
