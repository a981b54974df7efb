"""The lesson scripts' files: ``--output PATH`` names the main figure, the others are named after it.

``python kmeans_iterate.py --output out/km.png`` writes ``out/km.png`` and, beside it,
``out/km_initial.png``, ``out/km_trajectory.png`` and ``out/km_iterations.gif``; each
script's ``--help`` lists its files. A run replaces the files it lists, as the tutorial's
``savefig`` would, and no other. With a display, the figures are also shown.
"""

import argparse
import os
import sys
from pathlib import Path

from kmeans_tf.data_io import check_output
from kmeans_tf.figures import save_figure


def derived_path(output, name):
    """Name a script's other file after its figure: ``out/km.png``, ``"trajectory.png"``: ``out/km_trajectory.png``."""
    output = Path(output)
    return output.with_name(f"{output.stem}_{name}")


def lesson_outputs(script_file, others=(), argv=None):
    """Read a lesson script's one option, ``--output PATH``, and check that every file can be written.

    Parameters
    ----------
    script_file : str, the script's ``__file__``; the default output is ``<script name>.png``
    others : sequence of str, the script's other files, named by ``derived_path(output, name)``
    argv : list of str, default=None (``sys.argv[1:]``)

    Returns
    -------
    paths : list of Path, the main figure's path, then one per name of ``others``

    A folder that does not exist ends the script with one line ``Error: ...``, before it
    computes anything.
    """
    default = Path(script_file).with_suffix(".png").name
    beside = ", ".join(f"STEM_{name}" for name in others)
    parser = argparse.ArgumentParser(prog=Path(script_file).name)
    parser.add_argument(
        "--output",
        default=default,
        metavar="PATH",
        help=f"where to write the main figure, as PNG (default: {default})"
        + (f"; also writes {beside} in its folder, STEM being its name without .png" if others else "")
        + ". A run replaces these files.",
    )
    output = Path(parser.parse_args(argv).output)
    if output.suffix.lower() != ".png":
        parser.error(f"--output {output} should end in .png")
    paths = [output, *(derived_path(output, name) for name in others)]
    for path in paths:
        try:
            check_output(path, overwrite=True)
        except OSError as error:
            sys.exit(f"Error: {error}")
    return paths


def finish_lesson(figures, animations=None):
    """End a lesson script: save its files, print their paths, show the figures if a display is there.

    Parameters
    ----------
    figures : dict of Path to matplotlib Figure, each saved as PNG
    animations : dict of Path to callable, default=None; ``write(path, overwrite=True)`` writes
        the file (e.g. a ``functools.partial`` of ``kmeans_tf.figures.save_animation``)
    """
    try:
        for path, figure in figures.items():
            save_figure(figure, path, overwrite=True)
            print(f"Figure saved to {path}")
        for path, write in (animations or {}).items():
            write(path, overwrite=True)
            print(f"Animation saved to {path}")
    except OSError as error:
        sys.exit(f"Error: {error}")
    if has_display():
        show(*figures.values())


def has_display():
    """Tell whether a window can be opened (always on Windows and macOS; DISPLAY or WAYLAND_DISPLAY on Linux)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def show(*figures):
    """Show stand-alone ``Figure`` objects in pyplot windows and block until they are closed."""
    import matplotlib.pyplot as plt

    for figure in figures:
        manager = plt.figure().canvas.manager  # a window to borrow
        manager.canvas.figure = figure
        figure.set_canvas(manager.canvas)
    plt.show()
