"""Throw-away TLS certificates for local https servers (made with the openssl command)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest


def self_signed(folder: Path, host: str) -> tuple[Path, Path]:
    """A certificate and key for `host`, valid for a day; the test is skipped without openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = folder / f"{host}.cert.pem", folder / f"{host}.key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={host}",
         "-addext", f"subjectAltName=DNS:{host}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def serving(cert: Path, key: Path) -> ssl.SSLContext:
    """The server side's context for that certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
