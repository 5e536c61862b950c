"""lvsdctl: detect left ventricular systolic dysfunction from the ECGs of patients with LBBB.

Kept import-light on purpose: `lvsdctl --help` must not pay for torch or h5py.
"""

__version__ = "0.1.0"
