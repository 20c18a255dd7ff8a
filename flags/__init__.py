"""absl flags shared by the training binaries.

Importing `flags.core` defines the flags every binary has (data, schedule, precision);
`flags.autoencoder` adds the autoencoder architecture and regulariser flags. Names and
defaults are the reference's, so command lines from its `runs/` scripts work unchanged.
"""
