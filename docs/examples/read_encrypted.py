#!/usr/bin/env python3
"""Read one data file of an encrypted quiver backup with pyarrow, and print its rows as JSON lines.

Usage: read_encrypted.py PARQUET KEY_FILE [--manifest MANIFEST_JSON]

KEY_FILE is the collection's master key (32 bytes, raw or base64): what ENCRYPTION_KEY_FILE names.
quiver uses envelope encryption: each backup's data files are encrypted (Parquet Modular
Encryption, AES-GCM, footer encrypted) with the backup's own data key, which the backup's
manifest.json keeps wrapped by the master key (AES-256-GCM: base64 of nonce || ciphertext || tag,
associated data "quiver/1/data-key/<collection id>/<backup id>"). This script unwraps the data key,
then has pyarrow read the file, supplying the AAD prefix the file must have where it is
("quiver/1/file/<collection id>/<backup id>/<path>"), so a file moved from elsewhere is refused.

Needs pyarrow >= 25 (pyarrow.parquet.encryption.create_decryption_properties) and cryptography.
Exit status: 0 read; 2 the key does not open the backup or the file; 1 any other error.
"""
import argparse
import base64
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def fail(status, message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(status)


def master_key(path):
    data = Path(path).read_bytes()
    if len(data) == 32:
        return data
    try:
        key = base64.b64decode(data.strip(), validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        fail(1, f"{path} does not hold a key (32 bytes, raw or base64)")
    return key


def data_key(master, manifest):
    sealed = manifest.get("sealed")
    if not sealed:
        fail(1, "the manifest is not an encrypted backup's")
    aad = f"quiver/1/data-key/{manifest['collection_id']}/{manifest['id']}".encode()
    # previous_data_key is there only while `quiver rekey` runs.
    for field in ("data_key", "previous_data_key"):
        if sealed.get(field):
            wrapped = base64.b64decode(sealed[field])
            try:
                return AESGCM(master).decrypt(wrapped[:12], wrapped[12:], aad)
            except InvalidTag:
                pass
    fail(2, f"the key does not open backup {manifest['id']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parquet")
    parser.add_argument("key_file")
    parser.add_argument("--manifest", help="the backup's manifest.json (default: the one beside data/)")
    args = parser.parse_args()
    parquet = Path(args.parquet).resolve()
    manifest_path = Path(args.manifest) if args.manifest else parquet.parent.parent / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    key = data_key(master_key(args.key_file), manifest)
    path = f"data/{parquet.name}"
    if not any(f["path"] == path for f in manifest["files"]):
        fail(1, f"backup {manifest['id']} has no data file {path}")
    aad_prefix = f"quiver/1/file/{manifest['collection_id']}/{manifest['id']}/{path}".encode()
    try:
        properties = pe.create_decryption_properties(key, aad_prefix=aad_prefix)
        table = pq.ParquetFile(parquet, decryption_properties=properties).read()
    except OSError as e:
        fail(2, f"{parquet} does not decrypt with the backup's key: {e}")
    for row in table.to_pylist():
        print(json.dumps({k: (base64.b64encode(v).decode() if isinstance(v, bytes) else v) for k, v in row.items()}, ensure_ascii=False))


if __name__ == "__main__":
    main()
