#!/usr/bin/env bash
# Wheels of the lvsdctl dependencies that the lent GPU machines' image lacks (it has torch, h5py, scipy,
# pandas, scikit-learn, statsmodels, matplotlib, rich, typer, lxml, tqdm, huggingface_hub, requests,
# aiohttp, fsspec), for an install there without a package registry. benchmarks/gpu.sh needs none of
# them; the rest of lvsdctl (ingest, preprocess, explain, ...) does.
#   bash benchmarks/wheelhouse.sh [DIR]    # here, with a registry: DIR defaults to .whl/ (git-ignored)
# then, on the GPU machine (carry DIR with the checkout):
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
#   export PYTHONPATH=/tmp/site:$PWD
# Versions are the ones the test suite runs with; the target is CPython 3.12 on x86-64 Linux (the GPU
# image's); PYVER=3.11 etc. for another.
source "$(dirname "$0")/env.sh"
DIR="${1:-.whl}"
PYVER="${PYVER:-3.12}"
PKGS=(
    neurokit2==0.3.0 PyWavelets==1.9.0          # signal processing (preprocess)
    captum==0.9.0                                # DeepLIFT (explain)
    wfdb==4.3.1 soundfile==0.14.0 cffi==2.1.1 pycparser==3.12  # WFDB reader
    pydicom==3.0.2                               # DICOM reader
    isal==1.9.1 pybase64==1.5.1                  # fast inflate and base64 (ingest)
    defusedxml==0.7.1                            # safe XML
    openpyxl==3.1.5 et_xmlfile==2.0.0            # echo tables in .xlsx
)
PLATFORMS=()
for n in 28 27 17; do PLATFORMS+=(--platform "manylinux_2_${n}_x86_64"); done
PLATFORMS+=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any)
mkdir -p "$DIR"
"$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version "$PYVER" --implementation cp "${PLATFORMS[@]}" -d "$DIR" "${PKGS[@]}"
ls -la "$DIR"
du -sh "$DIR"
