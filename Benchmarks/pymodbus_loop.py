#!/usr/bin/env python3
"""The pymodbus peer of `labgate-bench tcp` (BENCHMARKS.md, Modbus TCP polling).

A synchronous pymodbus ModbusTcpClient reading the same input registers of the same unit from
the simulator's Modbus TCP server, back to back on one connection, for a fixed time. Prints one
JSON object: transactions, failed, seconds, cpu (this process's CPU seconds in the loop), versions.
scripts/bench-tcp runs it with a venv holding the pinned pymodbus (see that script).
"""
import argparse
import json
import platform
import sys
import time

import pymodbus
from pymodbus.client import ModbusTcpClient


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--unit", type=int, default=1)
    parser.add_argument("--address", type=int, default=0)
    parser.add_argument("--count", type=int, default=8)
    args = parser.parse_args()

    client = ModbusTcpClient(args.host, port=args.port, timeout=1, retries=0)
    if not client.connect():
        print(f"cannot connect to {args.host}:{args.port}", file=sys.stderr)
        return 1
    done = failed = 0
    cpu_start = time.process_time()
    start = now = time.monotonic()
    end = start + args.seconds
    while now < end:
        try:
            reply = client.read_input_registers(args.address, count=args.count, device_id=args.unit)
            if reply.isError() or len(reply.registers) != args.count:
                failed += 1
            else:
                done += 1
        except Exception:  # a timeout or a broken connection: count it and go on, as the others do
            failed += 1
        now = time.monotonic()
    cpu = time.process_time() - cpu_start
    client.close()
    print(json.dumps({
        "transactions": done, "failed": failed, "seconds": now - start, "cpu": cpu,
        "pymodbus": pymodbus.__version__, "python": platform.python_version(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
