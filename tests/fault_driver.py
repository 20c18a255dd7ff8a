"""Runs a binary of the toolkit with a signal sent to itself at an exact moment, so that a
test of faults does not depend on the machine's speed:

    python tests/fault_driver.py SIGNAL WHERE MODULE [ARGS...]

SIGNAL: TERM, INT or KILL. WHERE:
  step:N          when train step N of this process begins (1 = the first; counted over
                  every fit call)
  report:STEP:K   after the report step STEP (acai.lib.report.ORDER) of this process'
                  K-th report (1 = the first)
MODULE runs as `python -m MODULE ARGS...` would.
"""

import os
import runpy
import signal
import sys

from acai.lib import callbacks, report


def signal_at(signum, where):
    """Patches the toolkit's training so that this process sends itself `signum` at
    `where`."""
    kind, _, place = where.partition(":")
    if kind == "step":
        target = int(place)
        begin = callbacks.Reports.on_train_batch_begin
        count = [0]

        def on_train_batch_begin(self, batch, logs=None):
            count[0] += 1
            if count[0] == target:
                os.kill(os.getpid(), signum)
            begin(self, batch, logs)

        callbacks.Reports.on_train_batch_begin = on_train_batch_begin
    elif kind == "report":
        step_name, _, number = place.partition(":")
        if step_name not in report.ORDER:
            raise SystemExit(f"no report step {step_name}: {report.ORDER}")
        run_steps = report.Pipeline.__call__
        reports = [0]

        def call(self, handed):
            if not handed.complete:
                return run_steps(self, handed)
            reports[0] += 1
            if reports[0] != int(number or 1):
                return run_steps(self, handed)
            steps = self.steps
            try:  # Run the steps up to STEP, signal, then the rest.
                names = list(steps)
                cut = names.index(step_name) + 1 if step_name in names else len(names)
                self.steps = {name: steps[name] for name in names[:cut]}
                run_steps(self, handed)
                os.kill(os.getpid(), signum)
                self.steps = {name: steps[name] for name in names[cut:]}
                return run_steps(self, handed)
            finally:
                self.steps = steps

        report.Pipeline.__call__ = call
    else:
        raise SystemExit(f"WHERE is step:N or report:STEP:K, not {where}")


def main():
    name, where, module = sys.argv[1:4]
    signal_at(getattr(signal, f"SIG{name}"), where)
    sys.argv = [module] + sys.argv[4:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
