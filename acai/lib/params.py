"""A model's hyperparameters, declared once on its class.

Each model class lists the `Param`s its constructor takes beyond the dataset's shape
(`PARAMS`); a subclass inherits its bases' and may redeclare one with its own default.
The training binaries define one command-line flag per parameter from these
declarations (flags.training), and the constructor receives the concrete values:

    class ACAI(AutoEncoder):
        PARAMS = (Param("advweight", 0.5, "Weight of the adversarial term (lambda).",
                        lower_bound=0.0), ...)
"""

import dataclasses
import math
import numbers
from typing import Any, Optional


@dataclasses.dataclass(frozen=True)
class Param:
    """One hyperparameter: its flag name, default, help and bounds.

    kind: 'integer', 'float', 'bool', 'string' or 'enum'; by default that of `default`.
    restartable: whether a run may be restarted with another value (e.g. what is only
      measured, not what is trained).
    in_name: whether the run's folder name (Model.experiment_name) shows it: True
      always, "changed" only when it is not the default (so that runs of older code,
      before the parameter existed, keep their names), False never.
    """
    name: str
    default: Any
    help: str
    lower_bound: Optional[float] = None
    upper_bound: Optional[float] = None
    kind: Optional[str] = None
    enum_values: tuple = ()
    restartable: bool = False
    in_name: Any = False

    def __post_init__(self):
        if self.kind is None:
            kind = {bool: "bool", int: "integer", float: "float", str: "string"}.get(
                type(self.default))
            if kind is None:
                raise TypeError(f"Param {self.name!r}: give kind= for a default of "
                                f"{self.default!r}")
            object.__setattr__(self, "kind", kind)

    def named(self, value):
        """Whether a run's name shows `value` of this parameter (see in_name)."""
        return self.in_name is True or (self.in_name == "changed" and value != self.default)

    def name_value(self, value):
        """`value` as a run's name shows it: floats as floats (1.0), integers and
        booleans as integers (1), strings as they are."""
        if self.kind == "float":
            return float(value)
        if self.kind in ("integer", "bool"):
            return int(value)
        return value

    def check(self, value):
        """Raises ValueError (one line) if `value` is out of bounds or not finite."""
        if self.kind in ("integer", "float") and value is not None:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"{self.name}={value!r} must be a number")
            if self.kind == "integer" and value != int(value):
                raise ValueError(f"{self.name}={value!r} must be an integer")
            if not math.isfinite(value):
                raise ValueError(f"{self.name}={value} must be a finite number")
            if self.lower_bound is not None and value < self.lower_bound:
                raise ValueError(f"{self.name}={value} must be >= {self.lower_bound}")
            if self.upper_bound is not None and value > self.upper_bound:
                raise ValueError(f"{self.name}={value} must be <= {self.upper_bound}")
        if self.kind == "enum" and value not in self.enum_values:
            raise ValueError(f"{self.name}={value!r} must be one of "
                             f"{', '.join(map(str, self.enum_values))}")


def declared(cls):
    """{name: Param} of a model class: its bases' declarations, then its own (a
    redeclaration replaces the base's, e.g. another default)."""
    params = {}
    for klass in reversed(cls.__mro__):
        for param in vars(klass).get("PARAMS", ()):
            params[param.name] = param
    return params
