"""Save (and, with a display, show) the lesson scripts' figures."""
import argparse
import io
import os
import sys
from pathlib import Path

from compat.data_io import write_atomically


def parse_output_option(script_file, argv=None):
    """Read a lesson script's one option, ``--output PATH`` (default: ``<script name>.png``)."""
    default = Path(script_file).with_suffix(".png").name
    parser = argparse.ArgumentParser(prog=Path(script_file).name)
    parser.add_argument("--output", default=default,
                        help=f"where to write the figure as PNG (default: {default})")
    return Path(parser.parse_args(argv).output)


def save_figure(figure, path, *, overwrite=True):
    """Write ``figure`` as a PNG at ``path`` through a temporary file, so a failure leaves no half file."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_atomically(path, buffer.getvalue(), overwrite=overwrite)
    return Path(path)


def has_display():
    """Tell whether a window can be opened (always on Windows and macOS; DISPLAY or WAYLAND_DISPLAY on Linux)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def show(figure):
    """Show a stand-alone ``Figure`` in a pyplot window and block until it is closed."""
    import matplotlib.pyplot as plt

    manager = plt.figure().canvas.manager  # a window to borrow
    manager.canvas.figure = figure
    figure.set_canvas(manager.canvas)
    plt.show()


def finish_lesson_figure(figure, script_file, argv=None):
    """End a lesson script: save the figure where ``--output`` says, print the path, show it if possible."""
    path = parse_output_option(script_file, argv)
    try:
        save_figure(figure, path)
    except OSError as error:
        sys.exit(f"Error: {error}")
    print(f"Figure saved to {path}")
    if has_display():
        show(figure)
    return path
