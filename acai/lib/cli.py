"""What every binary of the toolkit shares.

    def main():                 # reads absl's FLAGS
        ...
    def run():                  # the console script (setup.py) and `python -m`
        cli.launch(main, "acai.cluster", define_flags, FLAGS)

`launch` lists the toolkit's flags under `--help` (absl shows only the main module's,
which for a console script is its wrapper), refuses stray arguments, and turns the
toolkit's errors into one line `prog: error: ...` and a non-zero status; an interrupted
run exits with 128 + the signal, like a shell. Its log holds the toolkit's lines and
warnings, not TensorFlow's bookkeeping (acai.lib.quiet).
"""

import os
import sys

import keras
from absl import app, flags, logging

from acai.lib import device, quiet
from acai.lib.data import DatasetUnavailable
from acai.lib.errors import Interrupted, RunError

# The errors whose message is the one line a user needs.
ERRORS = (ValueError, OSError, DatasetUnavailable, RunError)
# absl's help flags.
HELP = {"--help", "-help", "-h", "-?", "--helpshort", "--helpfull", "--helpxml"}


def adopt_flags(flag_values, names):
    """Makes the flags `names` (those the binary defined) and the main module's own key
    flags of the main module, so that `--help` lists them (and `--helpfull` is only
    needed for TensorFlow's own)."""
    main = sys.argv[0]
    for module, module_flags in flag_values.flags_by_module_dict().items():
        for flag in module_flags:
            if module == main or flag.name in names:
                flag_values.register_key_flag_for_module(main, flag)


def require(flag_values, *names):
    """Raises ValueError (one line) for the first of these flags that is not given."""
    for name in names:
        if flag_values[name].value in (None, "", []):
            raise ValueError(f"--{name} is required")


def guarded(main, prog):
    """main() with the toolkit's errors as one line and a non-zero exit status (with the
    environment variable ACAI_TRACEBACK=1: the whole traceback, for a bug report)."""
    try:
        main()
    except Interrupted as e:
        # Stopped on purpose, resumable: the shell's status for "killed by signal".
        print(f"{prog}: {e}", file=sys.stderr)
        sys.exit(128 + e.signum)
    except ERRORS as e:
        if os.environ.get("ACAI_TRACEBACK"):
            raise
        sys.exit(f"{prog}: error: {e}")


def launch(main, prog, define=None, flag_values=flags.FLAGS, doc=None):
    """Defines the binary's flags (`define()`, into `flag_values`: absl's FLAGS, which
    absl's app parses), parses them and runs main() as the binary `prog`; --help lists
    the flags `define` made and starts with `doc`, by default the docstring of main's
    module (also for a console script)."""
    before = set(flag_values)
    if define is not None:
        define()
    adopt_flags(flag_values, set(flag_values) - before)
    entry = sys.modules.get("__main__")
    if entry is not None and not entry.__doc__:
        entry.__doc__ = doc or sys.modules[main.__module__].__doc__

    if os.environ.get("ACAI_TRACEBACK"):
        keras.config.disable_traceback_filtering()

    def absl_main(argv):
        if len(argv) > 1:
            sys.exit(f"{prog}: error: unexpected arguments: {' '.join(argv[1:])} (flags "
                     "are --name=value; --help lists them)")
        quiet.quiet_libraries()
        if left_out:
            logging.info(device.NO_GPU)
        guarded(main, prog)

    # Before app.run, whose start-up callbacks (tf.distribute's) list the devices:
    # without a GPU, TensorFlow's error line about cuInit becomes one INFO line.
    left_out = device.probe_devices()
    try:
        app.run(absl_main)
    except SystemExit as e:
        # absl exits with 1 after printing the help it was asked for: that is success.
        if e.code == 1 and HELP.intersection(sys.argv[1:]):
            sys.exit(0)
        raise
