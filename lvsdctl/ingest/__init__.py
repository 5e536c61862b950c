"""The `ingest` stage: ECG exports + an echo table -> one `ecg-raw` HDF5 file."""
