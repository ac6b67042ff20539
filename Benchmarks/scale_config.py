# The scale benchmark's config (25 gateways x 10 incubators x 4 channels every second) for a daemon
# run by hand beside another: python3 Benchmarks/scale_config.py FOLDER BASE_PORT (ports BASE+1..BASE+25).
import sys
folder, base = sys.argv[1], int(sys.argv[2])
t = f"""site: bench-scale
store: {folder}/labgate.sqlite
alerts: {folder}
control: {folder}/control.sock
buses:
"""
for g in range(1, 26):
    t += f"  - {{ id: gw-{g:02d}, tcp: {{ host: 127.0.0.1, port: {base + g} }} }}\n"
t += "devices:\n"
for g in range(1, 26):
    for u in range(1, 11):
        t += f"""  - id: INC-{(g-1)*10+u:03d}
    kind: incubator
    bus: gw-{g:02d}
    unit: {u}
    profile: bench-incubator
    every: 1000ms
    limits:
      temperature: {{ low: 35.0, high: 39.0 }}
      co2: {{ low: 4.0, high: 6.0, delay: 10m }}
"""
t += """profiles:
  bench-incubator:
    temperature: { table: input, address: 0, type: float32, order: ABCD, unit: "°C" }
    co2:         { table: input, address: 2, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
    rh:          { table: input, address: 3, type: uint16, scale: 0.1, unit: "%", invalid: [65535] }
    o2:          { table: input, address: 4, type: int16, scale: 0.01, unit: "%", invalid: [-32768] }
"""
open(folder + "/labgate.yaml", "w").write(t)
