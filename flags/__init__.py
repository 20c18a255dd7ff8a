"""absl flags of the toolkit's binaries, defined from declarations.

`flags.training.define` defines a training binary's flags: the run's own (dataset,
schedule, precision, ...) and one per hyperparameter the models declare (their
`PARAMS`), each with the default of the model `--model` names. Names and defaults are
the reference's, so command lines from its `runs/` scripts work unchanged.
"""
