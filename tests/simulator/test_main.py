"""python -m simulator runs a working gateway until SIGTERM."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import httpx

from simulator.__main__ import parse_args

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_parse_args_defaults() -> None:
    args = parse_args([])
    assert (args.host, args.port, args.api_key) == ("127.0.0.1", 8787, "sim-key")
    assert parse_args(["--mj-step-seconds", "0.5"]).mj_step_seconds == 0.5


async def test_entry_point_serves_and_stops_on_sigterm() -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--api-key",
        "k-1",
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": "Bearer k-1"}
        ) as client:
            for _ in range(100):
                try:
                    response = await client.get("/v1/models")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("simulator did not start")
            assert response.status_code == 200
            assert (
                await client.get("/v1/models", headers={"Authorization": "Bearer wrong"})
            ).status_code == 401
    finally:
        proc.terminate()
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=10)
    assert proc.returncode == 0, stderr.decode()
    assert b"listening on http://127.0.0.1:" in stderr
